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
// xrun is a period that started more than a period after its deadline (as VirtualIo counts).
// Thread safety: open_seat(), and a seat's start()/stop(), from control threads (any; a short
// absl::Mutex guards the seat table); counters() from any thread. The clock outlives its seats.
#pragma once

#include <array>
#include <atomic>
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

class SharedClock {
 public:
  static constexpr size_t kMaxSeats = 128;
  static constexpr int kMaxThreads = 8;

  explicit SharedClock(const SharedClockOptions& options);
  ~SharedClock();  // every seat must have been stopped
  SharedClock(const SharedClock&) = delete;
  SharedClock& operator=(const SharedClock&) = delete;

  // A new seat (an AudioIo whose callback this clock runs once started). thread: control
  std::unique_ptr<realtime::AudioIo> open_seat();
  bool got_rt_priority() const { return got_rt_priority_.load(std::memory_order_acquire); }
  uint32_t period_frames() const { return options_.period_frames; }

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
  std::atomic<bool> running_{true};
  std::atomic<bool> got_rt_priority_{false};
  absl::Mutex mu_;  // control threads only: who may take a free slot
  std::array<bool, kMaxSeats> taken_ ABSL_GUARDED_BY(mu_){};
  std::vector<std::thread> threads_;
};

}  // namespace jamd
