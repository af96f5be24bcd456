// machine_stall_bench: the machine's own stalls, without jamd. A StallProbe (bench/stall_probe.h)
// on every CPU, first with the machine idle, then with one busy thread per CPU at the lowest
// priority there is (SCHED_IDLE: anything else preempts it at once). The busy threads stand in for
// jamd's load (170-200 % of this 2-core VM at 32 jams) and do nothing a probe must wait for: no
// system calls, no memory beyond their stack. A probe that wakes late was held by the kernel or
// the hypervisor; when the busy phase stalls far more than the idle one, the host takes time from
// a VM that keeps its CPUs busy, and no thread inside it can prevent that.
//
// Usage: machine_stall_bench [--seconds N (each phase, default 20)]
// Prints one row per phase: stalls over 0.5, 2 and 5 ms, the longest, the time stalled per
// second of each CPU, and the stalls of 2 ms or more that overlapped on two CPUs.
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/stall_probe.h"
#include "daemon/host/thread_priority.h"

namespace {

using jamd::bench::StallProbe;
using Clock = StallProbe::Clock;

// Spins on one CPU at SCHED_IDLE until `stop`.
std::thread busy_thread(int cpu, const std::atomic<bool>& stop) {
  std::thread t([&stop] {
    pthread_setname_np(pthread_self(), "busy");
    volatile uint64_t n = 0;
    while (!stop.load(std::memory_order_relaxed)) n = n + 1;
  });
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(t.native_handle(), sizeof(set), &set);
  sched_param param{};
  pthread_setschedparam(t.native_handle(), SCHED_IDLE, &param);
  return t;
}

struct Row {
  size_t over_half_ms = 0, over_2_ms = 0, over_5_ms = 0, overlapping_2_ms = 0;
  double longest_ms = 0, stalled_ms_per_cpu_second = 0;
  bool rt = true;
};

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

Row run_phase(const std::vector<int>& cpus, double seconds, bool busy) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> load;
  if (busy) {
    for (const int c : cpus) load.push_back(busy_thread(c, stop));
  }
  std::vector<std::unique_ptr<StallProbe>> probes;
  for (const int c : cpus) probes.push_back(std::make_unique<StallProbe>(c));
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  Row row;
  std::vector<std::vector<StallProbe::Stall>> stalls;
  for (auto& p : probes) {
    row.rt &= p->got_rt_priority();
    stalls.push_back(p->stop());
  }
  stop.store(true);
  for (std::thread& t : load) t.join();
  double stalled_ms = 0;
  for (size_t c = 0; c < stalls.size(); ++c) {
    for (const StallProbe::Stall& s : stalls[c]) {
      const double d = ms(s.to - s.from);
      stalled_ms += d;
      row.longest_ms = std::max(row.longest_ms, d);
      row.over_half_ms += d > 0.5;
      row.over_2_ms += d >= 2.0;
      row.over_5_ms += d >= 5.0;
      if (d < 2.0) continue;
      // Counted once, from the lower CPU: a 2 ms stall of another CPU overlapping this one.
      for (size_t o = c + 1; o < stalls.size(); ++o) {
        const bool overlaps = std::any_of(stalls[o].begin(), stalls[o].end(), [&](const auto& t) {
          return ms(t.to - t.from) >= 2.0 && t.from < s.to && s.from < t.to;
        });
        row.overlapping_2_ms += overlaps;
      }
    }
  }
  row.stalled_ms_per_cpu_second = stalled_ms / (seconds * static_cast<double>(cpus.size()));
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--seconds") seconds = std::max(1.0, std::atof(argv[i + 1]));
  }
  const std::vector<int> cpus = jamd::allowed_cpus();
  std::printf("machine_stall_bench: a 1 ms SCHED_FIFO probe on each of %zu CPUs, %.0f s a phase\n",
              cpus.size(), seconds);
  std::printf("%-34s %8s %8s %8s %10s %16s %12s\n", "phase", ">0.5ms", ">=2ms", ">=5ms", "longest",
              "stalled ms/cpu-s", "2ms on 2 CPUs");
  for (const bool busy : {false, true}) {
    const Row r = run_phase(cpus, seconds, busy);
    std::printf("%-34s %8zu %8zu %8zu %8.2fms %16.3f %12zu%s\n",
                busy ? "busy (a SCHED_IDLE spinner per CPU)" : "idle", r.over_half_ms, r.over_2_ms,
                r.over_5_ms, r.longest_ms, r.stalled_ms_per_cpu_second, r.overlapping_2_ms,
                r.rt ? "" : "  (no RT priority: not a measure of the machine)");
  }
  return 0;
}
