// StallProbe: a control for the machine, as the JACK soak's silent callback is. A SCHED_FIFO
// thread one priority above the shared clock's, pinned to one CPU, wakes every millisecond and
// does nothing else; whenever it wakes late, nothing at that priority could run on that CPU: the
// kernel (this VM's is not preemptible) or the hypervisor held it. jam_load_bench counts a late
// seat of the shared clock as the machine's when the probe on the clock's CPU stalled for the
// time by which the seat was late; the rest are jamd's own.
//
//   StallProbe probe(0);              // starts the thread on CPU 0
//   ...                               // the load
//   std::vector<StallProbe::Stall> stalls = probe.stop();
#pragma once

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "daemon/host/shared_clock.h"

namespace jamd::bench {

class StallProbe {
 public:
  using Clock = std::chrono::steady_clock;
  struct Stall {
    Clock::time_point from, to;  // the probe's deadline, and when it ran at last
  };
  // Wakes later than this are recorded: well above the timer's own jitter.
  static constexpr auto kRecordedLateness = std::chrono::microseconds(500);
  static constexpr auto kPeriod = std::chrono::milliseconds(1);

  explicit StallProbe(int cpu) : cpu_(cpu), thread_([this] { run(kPeriod); }) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pinned_ = pthread_setaffinity_np(thread_.native_handle(), sizeof(set), &set) == 0;
    sched_param param{};
    param.sched_priority = kSharedClockRtPriority + 1;
    got_rt_priority_ = pthread_setschedparam(thread_.native_handle(), SCHED_FIFO, &param) == 0;
  }
  ~StallProbe() { stop(); }
  StallProbe(const StallProbe&) = delete;
  StallProbe& operator=(const StallProbe&) = delete;

  bool got_rt_priority() const { return got_rt_priority_ && pinned_; }
  int cpu() const { return cpu_; }

  std::vector<Stall> stop() {
    running_.store(false, std::memory_order_release);
    if (thread_.joinable()) thread_.join();
    return stalls_;
  }

  // How long, within [from, to], the probe could not run.
  static Clock::duration stalled_within(const std::vector<Stall>& stalls, Clock::time_point from,
                                        Clock::time_point to) {
    Clock::duration total{};
    for (const Stall& s : stalls) {
      const Clock::time_point a = std::max(from, s.from), b = std::min(to, s.to);
      if (b > a) total += b - a;
    }
    return total;
  }

 private:
  void run(Clock::duration period) {
    pthread_setname_np(pthread_self(), "stall-probe");
    stalls_.reserve(kMaxStalls);  // before the first deadline: nothing allocates in the loop
    Clock::time_point deadline = Clock::now() + period;
    while (running_.load(std::memory_order_acquire)) {
      std::this_thread::sleep_until(deadline);
      const Clock::time_point woke = Clock::now();
      if (woke - deadline > kRecordedLateness && stalls_.size() < kMaxStalls)
        stalls_.push_back({deadline, woke});
      deadline += period;
      if (woke > deadline) deadline = woke + period;
    }
  }

  static constexpr size_t kMaxStalls = 1 << 16;
  const int cpu_;
  std::atomic<bool> running_{true};
  bool got_rt_priority_ = false, pinned_ = false;
  std::vector<Stall> stalls_;  // the probe thread's until stop() joins it
  std::thread thread_;         // last: starts once the members above exist
};

}  // namespace jamd::bench
