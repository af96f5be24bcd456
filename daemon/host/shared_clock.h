// SharedClock: the pacing threads of every virtual-clock jam of a process (`jamd serve`). Each
// jam gets an AudioIo seat; once a period, on one grid for all seats, a pass runs every started
// seat's callback once, instead of one thread per jam waking on its own grid (32 jams: 32
// threads and 6,000 wake-ups a second at 256 frames, against one pass a period).
//
// The threads of a pass take its seats one at a time from a shared cursor, so whoever is running
// plays the next seat. The pacing threads wake at the deadline; a standby thread wakes a little
// later (`standby_after` periods) and takes the seats a pass has not reached yet. On a machine
// whose kernel or hypervisor now and then holds a CPU for a few milliseconds (the team's 2-vCPU
// VM: docs/PERFORMANCE.md, session 7), the standby plays on the other CPU, and when nothing is
// held up it finds the pass done and sleeps again. One pacing thread is the default: two that run
// every pass from its deadline take both cores at once and starve the conductor (session 5).
//
//   SharedClock clock({.sample_rate_hz = 48000, .period_frames = 480, .rt_priority = 10});
//   std::unique_ptr<realtime::AudioIo> io = clock.open_seat();   // one per jam
//   io->start(&callback);  ...  io->stop();                       // as with VirtualIo
//
// The threads play the RT thread's part for the seats: they never allocate, lock or block, and
// run the callbacks with the same ProcessBlock contract as VirtualIo. A seat's callback may run
// on any of them, but never on two at once, and its periods run in order: the thread that plays
// a seat holds it (a word in its slot) until its callback returns, and a pass that reaches a held
// seat leaves the period owed to the holder, which plays it next (as a JACK client's callback
// may move to a new process thread after a reconnect, one call after another). So a thread held
// up inside one seat's callback makes that seat late, not the next pass: the next pass opens
// once every seat of the one before has been taken, on its own deadline. A seat's xrun is a
// period that started more than a period after its deadline (as VirtualIo counts); stats() and
// late_passes() tell why: the pass woke late, or ran long, or a seat's thread was held up.
// Thread safety: open_seat(), and a seat's start()/stop(), from control threads (any; a short
// absl::Mutex guards the seat table); stats() and late_passes() from any thread. The clock
// outlives its seats.
#pragma once

#include <pthread.h>

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
  int threads = 1;  // pacing threads: they wake at each pass's deadline and share its seats
  // Standby threads: they wake `standby_after` periods past the deadline and take the seats the
  // pass has not reached (its threads were held up, or the pass is long). 0: none.
  int standby_threads = 1;
  double standby_after = 0.4;  // 0..1 periods
  // Each thread on a CPU of its own (round-robin over the process's CPUs from the last, when it
  // may use two or more). Unpinned, the kernel moves a preempted clock thread to the other CPU's
  // queue, and the standby's timer may sit there too: when the hypervisor holds that one vCPU, both
  // threads wait for it while the other CPU runs the conductor (jam_load_bench,
  // docs/PERFORMANCE.md, session 9). Pinned apart, a held vCPU holds up one thread, and the other
  // plays on.
  bool pin_threads = true;
};

// How the pacing threads kept time, summed over them: what tells a late seat's cause apart. A
// pass that woke late lost its period to the scheduler (another thread, the kernel, the VM); a
// pass that woke on time but worked longer than a period made its own last seats late.
struct SharedClockStats {
  uint64_t passes = 0;           // passes over the seats with at least one seat started
  uint64_t late_wakes = 0;       // passes woken from sleep more than a period after their deadline
  uint64_t long_passes = 0;      // passes whose callbacks took longer than a period
  uint64_t relieved_passes = 0;  // passes in which a standby thread played seats
  uint64_t standby_seats = 0;    // seats a standby thread played
  // Periods a seat's holder played for the passes that reached the seat while its thread was
  // still in its callback (held up, or a long callback): late ones are in late_passes().
  uint64_t owed_periods = 0;
  uint64_t dropped_periods = 0;  // owed past kMaxOwed (a thread held up most of a second): lost
  double max_wake_late_ms = 0;   // the latest a pass woke from sleep after its deadline
  double max_pass_ms = 0;        // the longest a pass's callbacks took
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
  static constexpr int kMaxThreads = 8;        // pacing and standby threads together
  static constexpr size_t kLatePassLog = 512;  // the latest late passes kept, per thread
  // Beyond this many owed periods (a thread held up for most of a second), periods are dropped:
  // the seat's sample clock falls behind, as when the grid moves on.
  static constexpr uint32_t kMaxOwed = 64;

  explicit SharedClock(const SharedClockOptions& options);
  ~SharedClock();  // every seat must have been stopped
  SharedClock(const SharedClock&) = delete;
  SharedClock& operator=(const SharedClock&) = delete;

  // A new seat (an AudioIo whose callback this clock runs once started). thread: control
  std::unique_ptr<realtime::AudioIo> open_seat();
  bool got_rt_priority() const { return got_rt_priority_.load(std::memory_order_acquire); }
  // The CPU each thread (pacing, then standby) may run on, as the kernel has it: -1 where it
  // may run on more than one. thread: any
  std::vector<int> pinned_cpus() const;
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
    // kHeld while a thread plays the seat; above it, the periods owed to that thread by passes
    // that reached the seat meanwhile. Taken and let go with acq_rel: one period's writes are
    // seen by the next period's thread, whichever it is.
    std::atomic<uint32_t> hold{0};
  };
  static constexpr uint32_t kHeld = 1;
  static constexpr uint32_t kOwedOne = 2;

  // What one pass's threads share. Written by its opener before the pass is published, and by
  // its players (atomically) while it runs; the ring keeps a pass's record for kPassRing passes,
  // so a thread held up that long in a seat's callback can still update it.
  struct PassRecord {
    std::atomic<uint64_t> pass{~uint64_t{0}};
    // The pass, shifted by kTallyBits, and how many of its tickets are done: the thread that
    // completes it records the pass. A thread held up for kPassRing passes finds another pass.
    std::atomic<uint64_t> tally{~uint64_t{0}};
    // steady_clock times, in nanoseconds since its epoch
    std::atomic<int64_t> deadline_ns{0}, began_ns{0}, ended_ns{0}, last_late_ns{0};
    std::atomic<int64_t> wake_late_ns{0};  // 0 unless the opener slept before it
    std::atomic<int32_t> cpu{-1};          // the opener's
    std::atomic<uint32_t> played{0}, late_seats{0}, standby_seats{0};
  };
  static constexpr size_t kPassRing = kMaxOwed;
  static constexpr int kTallyBits = 8;
  static_assert(kMaxSeats < (uint64_t{1} << kTallyBits));
  PassRecord& record_of(uint64_t pass) { return pass_ring_[pass % kPassRing]; }
  const PassRecord& record_of(uint64_t pass) const { return pass_ring_[pass % kPassRing]; }

  void run(int t);  // thread: pacing or standby
  // Plays the open pass's seats not yet taken, one at a time. thread: pacing or standby
  void play_open_pass(uint64_t pass, bool standby, int t);
  // Holds the slot's seat, or owes its holder a period (or drops it, counted in thread t's
  // timing, when kMaxOwed are owed). Returns whether this thread holds it.
  bool take_or_owe(Slot& slot, int t);
  // After a period of a held seat: takes one owed period (true), or lets the seat go.
  static bool take_owed(Slot& slot);
  // Plays the held seat's period of `pass`, then those it is owed. thread: pacing or standby
  void play_held_seat(Slot& slot, uint64_t pass, bool standby, int t);
  void count_done(uint64_t pass, int t);  // one of the pass's tickets; records it when all are
  // Opens `pass` with `deadline_ns` (due_ns's) if no other thread has. thread: pacing or standby
  void open_pass(uint64_t pass, int64_t deadline_ns, bool slept);
  // The deadline `pass` opens at: a period after the pass before's, or when that pass ended if
  // it ended more than a period past it (the grid moves on instead of rushing).
  int64_t due_ns(uint64_t pass) const;
  void record_pass(int t, uint64_t pass);  // by its last player, into its own thread's counters
  void attach(Seat* seat);                 // thread: control
  void detach(Seat* seat);                 // thread: control; returns when no thread holds it

  const SharedClockOptions options_;
  const int n_pacing_;
  const int n_threads_;  // pacing, then standby
  const int64_t period_ns_;
  const int64_t standby_after_ns_;
  const int64_t origin_ns_;  // pass 0's deadline
  std::array<Slot, kMaxSeats> slots_;
  // The passes: pass p's seats are the tickets p * kMaxSeats .. (p + 1) * kMaxSeats - 1, one per
  // slot. A thread takes the next ticket of the open pass; a pass opens at its deadline once
  // every ticket of the one before has been taken.
  std::atomic<uint64_t> opening_{0};  // passes claimed by an opener
  std::atomic<uint64_t> opened_{0};   // passes published: pass opened_ - 1 is the open one
  std::atomic<uint64_t> next_ticket_{0};
  std::array<PassRecord, kPassRing> pass_ring_{};
  // Each thread's counters of the passes it recorded (it finished them), summed by stats().
  // Written by that thread only (relaxed: counters, no ordering). A pass's wake is late only
  // after a sleep: one begun late because the pass before overran is that long pass's doing.
  struct Timing {
    std::atomic<uint64_t> passes{0}, late_wakes{0}, long_passes{0};
    std::atomic<uint64_t> relieved_passes{0}, standby_seats{0}, owed_periods{0}, dropped_periods{0};
    std::atomic<int64_t> max_wake_late_ns{0}, max_pass_ns{0};
    std::array<std::atomic<uint64_t>, SharedClockStats::kBuckets> pass_histogram{};
  };
  std::array<Timing, kMaxThreads> timing_{};
  // Each thread's ring of the late passes it recorded: it writes a record, then counts it
  // (release).
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
  static void log_late_pass(LatePassLog& log, const SharedClockLatePass& pass);
  std::atomic<bool> running_{true};
  std::atomic<bool> got_rt_priority_{false};
  absl::Mutex mu_;  // control threads only: who may take a free slot
  std::array<bool, kMaxSeats> taken_ ABSL_GUARDED_BY(mu_){};
  std::vector<std::thread> threads_;
  std::vector<pthread_t> handles_;  // threads_', for const queries
};

}  // namespace jamd
