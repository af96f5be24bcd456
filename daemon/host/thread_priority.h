// Thread priorities for the jams of `jamd serve`: what must win a busy machine's cores (and which
// cores there are: allowed_cpus()). The
// virtual clock's pacing threads run SCHED_FIFO (SharedClock); below them the conductor (nice -10:
// late notes are audible), then the shared worker that taps and encodes (nice -5: a late packet
// only waits in a queue), then gRPC and everything else (nice 0). Best effort: without
// CAP_SYS_NICE (or an RLIMIT_NICE that allows it) the priorities stay as they were.
//
//   start_at_nice(-10, [&] { conductor->start(); });   // its thread inherits nice -10
#pragma once

#include <functional>
#include <vector>

namespace jamd {

inline constexpr int kConductorNice = -10;
inline constexpr int kSharedWorkerNice = -5;

// Sets the calling thread's nice value (on Linux it is per thread). False when refused.
bool set_thread_nice(int nice);
// Runs `start` on a helper thread set to `nice` and waits for it: threads that `start` creates
// inherit that nice value (Linux threads inherit their creator's). This raises a component's
// thread without reaching into the component. False when the nice value was refused (`start`
// still ran, at the normal priority).
bool start_at_nice(int nice, const std::function<void()>& start);
// The CPUs the calling thread may run on (its affinity, which the threads it starts inherit), in
// order; empty if the kernel would not say.
std::vector<int> allowed_cpus();

}  // namespace jamd
