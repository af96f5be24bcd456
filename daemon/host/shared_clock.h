// SharedClock: the pacing threads of every virtual-clock jam of a process (`jamd serve`). Each
// jam gets an AudioIo seat; a pacing thread wakes once a period, on one grid for all seats, and
// runs its seats' callbacks in turn, instead of one thread per jam waking on its own grid (32
// jams: 32 threads and 6,000 wake-ups a second at 256 frames, against 188 per pacing thread).
// The seats can be shared out among several pacing threads: a period in which many jams start
// notes at once (their downbeats coincide) then holds a part of the work each, so the seats at
// the end of a long pass do not start late. One is the default: on the 2-core target two FIFO
// threads take both cores at once and starve the conductor (more late notes than xruns saved;
// docs/PERFORMANCE.md, session 5).
//
//   SharedClock clock({.sample_rate_hz = 48000, .period_frames = 256, .rt_priority = 10});
//   std::unique_ptr<realtime::AudioIo> io = clock.open_seat();   // one per jam
//   io->start(&callback);  ...  io->stop();                       // as with VirtualIo
//
// The pacing thread plays the RT thread's part for its seats: it never allocates, locks or
// blocks, and it runs the callbacks with the same ProcessBlock contract as VirtualIo. A seat's
// xrun is a period that started more than a period after its deadline (as VirtualIo counts);
// stats() and late_passes() tell why: the pass woke late, or ran long.
// Thread safety: open_seat(), and a seat's start()/stop(), from control threads (any; a short
// absl::Mutex guards the seat table); counters() from any thread. The clock outlives its seats.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "realtime/io/audio_io.h"

namespace jamd {

// What jamd serve asks for: JACK's default for its clients' process threads.
inline constexpr int kSharedClockRtPriority = 10;

struct SharedClockOptions {
  uint32_t sample_rate_hz = 48000;
  uint32_t period_frames = 256;
  // SCHED_FIFO priority of the pacing threads (best effort, as VirtualIo and JACK): the synths
  // then win over generation, encoding and the network threads. 0: normal scheduling.
  int rt_priority = 0;
  int threads = 1;  // pacing threads; a seat stays on one of them while it is started
};

// How the pacing threads kept time, summed over them: what tells a late seat's cause apart. A
// pass that woke late lost its period to the scheduler (another thread, the kernel, the VM); a
// pass that woke on time but worked longer than a period made its own last seats late.
struct SharedClockStats {
  uint64_t passes = 0;          // passes over the seats with at least one seat started
  uint64_t late_wakes = 0;      // passes woken from sleep more than a period after their deadline
  uint64_t long_passes = 0;     // passes whose callbacks took longer than a period
  double max_wake_late_ms = 0;  // the latest a pass woke from sleep after its deadline
  double max_pass_ms = 0;       // the longest a pass's callbacks took
  // How long passes took: bucket b counts passes of [b, b + 1) * kBucketMs, the last the rest.
  static constexpr size_t kBuckets = 64;
  static constexpr double kBucketMs = 0.25;
  std::array<uint64_t, kBuckets> pass_histogram{};
  double pass_percentile_ms(double p) const;  // the upper edge of the bucket holding it
  SharedClockStats since(const SharedClockStats& before) const;  // counts in between; maxima kept
};

// A pass in which seats started late: when it was due, when it began and on which CPU, when its
// last late seat started, and how many seats were late (each one xrun).
struct SharedClockLatePass {
  std::chrono::steady_clock::time_point deadline, began, last_late_seat;
  int cpu = -1;
  uint32_t late_seats = 0;
};

class SharedClock {
 public:
  static constexpr size_t kMaxSeats = 128;
  static constexpr int kMaxThreads = 8;
  static constexpr size_t kLatePassLog = 512;  // the latest late passes kept, per pacing thread

  explicit SharedClock(const SharedClockOptions& options);
  ~SharedClock();  // every seat must have been stopped
  SharedClock(const SharedClock&) = delete;
  SharedClock& operator=(const SharedClock&) = delete;

  // A new seat (an AudioIo whose callback this clock runs once started). thread: control
  std::unique_ptr<realtime::AudioIo> open_seat();
  bool got_rt_priority() const { return got_rt_priority_.load(std::memory_order_acquire); }
  uint32_t period_frames() const { return options_.period_frames; }
  std::chrono::nanoseconds period() const {  // the grid's step
    return std::chrono::nanoseconds(
        static_cast<int64_t>(1e9 * options_.period_frames / options_.sample_rate_hz));
  }
  SharedClockStats stats() const;  // thread: any
  // The late passes still in the log, for telling the machine's stalls from the clock's own
  // overruns (jam_load_bench). thread: any
  std::vector<SharedClockLatePass> late_passes() const;

 private:
  class Seat;
  struct Slot {
    std::atomic<Seat*> seat{nullptr};  // set while the seat is started
  };
  // Pacing thread t runs the slots t, t + threads, t + 2 * threads, ...
  void run(int t);                    // thread: pacing
  void attach(Seat* seat);            // thread: control
  void detach(Seat* seat);            // thread: control; returns when the thread is done with it
  void wait_for_two_passes(int t);    // thread: control
  int thread_of(size_t slot) const {  // the pacing thread that runs `slot`
    return static_cast<int>(slot % static_cast<size_t>(n_threads_));
  }

  const SharedClockOptions options_;
  const int n_threads_;
  std::array<Slot, kMaxSeats> slots_;
  // Whole passes over its slots each pacing thread has finished.
  std::array<std::atomic<uint64_t>, kMaxThreads> passes_{};
  // Written by its pacing thread only (relaxed: counters, no ordering), read by stats(). A
  // pass's wake is late only after a sleep: one begun late because the pass before overran is
  // that long pass's doing.
  struct Timing {
    std::atomic<uint64_t> passes{0}, late_wakes{0}, long_passes{0};
    std::atomic<int64_t> max_wake_late_ns{0}, max_pass_ns{0};
    std::array<std::atomic<uint64_t>, SharedClockStats::kBuckets> pass_histogram{};
  };
  std::array<Timing, kMaxThreads> timing_{};
  // Each pacing thread's ring of late passes: it writes a record, then counts it (release).
  struct LatePassRecord {
    // steady_clock times, in nanoseconds since its epoch
    std::atomic<int64_t> deadline_ns{0}, began_ns{0}, last_late_ns{0};
    std::atomic<int32_t> cpu{-1};
    std::atomic<uint32_t> late_seats{0};
  };
  struct LatePassLog {
    std::array<LatePassRecord, kLatePassLog> records;
    std::atomic<uint64_t> written{0};
  };
  std::array<LatePassLog, kMaxThreads> late_log_{};
  // Book-keeping of one pass. thread: pacing
  static void log_late_pass(LatePassLog& log, const SharedClockLatePass& pass);
  static void record_pass(Timing& timing, std::chrono::steady_clock::duration wake_late,
                          std::chrono::steady_clock::duration pass,
                          std::chrono::steady_clock::duration period);
  std::atomic<bool> running_{true};
  std::atomic<bool> got_rt_priority_{false};
  absl::Mutex mu_;  // control threads only: who may take a free slot
  std::array<bool, kMaxSeats> taken_ ABSL_GUARDED_BY(mu_){};
  std::vector<std::thread> threads_;
};

}  // namespace jamd
