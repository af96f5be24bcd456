// SharedClock and SharedWorker: the threads `jamd serve` shares among its jams. Every seat of the
// clock plays contiguous periods on its own sample clock, and a stopped seat's callback never
// runs again; a worker runs every piece of work each pass, a removed one never again, and adding
// work while the passes run long (a busy machine) does not starve.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "daemon/host/shared_clock.h"
#include "daemon/host/shared_worker.h"
#include "daemon/host/thread_priority.h"

namespace jamd {
namespace {

using namespace std::chrono_literals;

// Counts periods, checks that each starts where the previous one ended, and records the CPUs
// they ran on (a bit each).
class CountingCallback final : public realtime::ProcessCallback {
 public:
  void process(const realtime::ProcessBlock& block) override {
    if (block.first_frame != next_frame_) gaps_.fetch_add(1);
    if (const int cpu = sched_getcpu(); cpu >= 0 && cpu < 64) cpus_.fetch_or(uint64_t{1} << cpu);
    next_frame_ = block.first_frame + block.n_frames;
    for (int c = 0; c < 2; ++c)
      std::fill(block.audio_out[c].begin(), block.audio_out[c].end(), 0.f);
    periods_.fetch_add(1);
  }
  uint64_t periods() const { return periods_.load(); }
  uint64_t gaps() const { return gaps_.load(); }
  uint64_t cpus() const { return cpus_.load(); }

 private:
  uint64_t next_frame_ = 0;
  std::atomic<uint64_t> cpus_{0};
  std::atomic<uint64_t> periods_{0};
  std::atomic<uint64_t> gaps_{0};
};

void wait_for(const std::function<bool()>& done) {
  while (!done()) std::this_thread::sleep_for(1ms);
}

TEST(SharedClock, EverySeatPlaysContiguousPeriodsUntilStopped) {
  SharedClock clock({.sample_rate_hz = 48000, .period_frames = 64});
  auto a = clock.open_seat();
  auto b = clock.open_seat();
  CountingCallback ca, cb;
  ASSERT_TRUE(a->start(&ca).ok());
  ASSERT_TRUE(b->start(&cb).ok());
  wait_for([&] { return ca.periods() >= 20 && cb.periods() >= 20; });
  a->stop();
  const uint64_t a_stopped_at = ca.periods();
  wait_for([&] { return cb.periods() >= 40; });  // the clock goes on for b
  b->stop();
  EXPECT_EQ(ca.periods(), a_stopped_at);
  EXPECT_EQ(ca.gaps(), 0u);
  EXPECT_EQ(cb.gaps(), 0u);
  EXPECT_EQ(a->counters().periods.load(), ca.periods());
  EXPECT_EQ(a->max_period_frames(), 64u);
}

TEST(SharedClock, AStoppedSeatCanStartAgainAndAFreedSlotIsReused) {
  SharedClock clock({.sample_rate_hz = 48000, .period_frames = 64});
  for (int round = 0; round < 3; ++round) {
    std::vector<std::unique_ptr<realtime::AudioIo>> seats;
    std::vector<CountingCallback> callbacks(8);
    for (auto& c : callbacks) {
      seats.push_back(clock.open_seat());
      ASSERT_TRUE(seats.back()->start(&c).ok());
    }
    wait_for([&] { return callbacks.back().periods() >= 3; });
    for (auto& s : seats) s->stop();
  }
}

// Records which threads ran it, and whether two ever ran it at once: a seat's callback may move
// between the clock's threads, but its periods run one after another, in order.
class ThreadRecordingCallback final : public realtime::ProcessCallback {
 public:
  void process(const realtime::ProcessBlock& block) override {
    if (inside_.exchange(true)) overlapped_.store(true);
    if (block.first_frame != next_frame_) gaps_.fetch_add(1);
    next_frame_ = block.first_frame + block.n_frames;
    const std::thread::id self = std::this_thread::get_id();
    if (first_ == std::thread::id{}) first_ = self;
    if (self != first_) moved_.store(true);
    periods_.fetch_add(1);
    inside_.store(false);
  }
  bool overlapped() const { return overlapped_.load(); }
  bool moved() const { return moved_.load(); }
  uint64_t gaps() const { return gaps_.load(); }
  uint64_t periods() const { return periods_.load(); }

 private:
  std::atomic<bool> inside_{false}, overlapped_{false}, moved_{false};
  std::atomic<uint64_t> gaps_{0}, periods_{0};
  uint64_t next_frame_ = 0;
  std::thread::id first_;
};

// Two pacing threads share every pass: both play seats, and no seat runs on both at once.
TEST(SharedClock, PacingThreadsShareThePassesButNeverOneSeatAtOnce) {
  SharedClock clock(
      {.sample_rate_hz = 48000, .period_frames = 64, .threads = 2, .standby_threads = 1});
  std::vector<std::unique_ptr<realtime::AudioIo>> seats;
  std::vector<ThreadRecordingCallback> callbacks(6);
  for (auto& c : callbacks) {
    seats.push_back(clock.open_seat());
    ASSERT_TRUE(seats.back()->start(&c).ok());
  }
  // Moving between threads is up to the scheduler: enough periods that it happens (bounded, so
  // that a machine where it never does fails instead of hanging).
  const auto any_moved = [&] {
    return std::any_of(callbacks.begin(), callbacks.end(), [](const auto& c) { return c.moved(); });
  };
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < give_up &&
         !(any_moved() && std::all_of(callbacks.begin(), callbacks.end(),
                                      [](const auto& c) { return c.periods() >= 200; }))) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE(any_moved());
  for (auto& s : seats) s->stop();
  for (size_t i = 0; i < callbacks.size(); ++i) {
    EXPECT_FALSE(callbacks[i].overlapped()) << "seat " << i;
    EXPECT_EQ(callbacks[i].gaps(), 0u) << "seat " << i;
  }
}

// Waits in its `stall_at`th period until the other seat has played `ahead` periods past that
// one: only a second thread can play them then. ahead 0: the held pass's other seat; more: the
// passes after it, which must open without the held seat.
class WaitForOtherSeatCallback final : public realtime::ProcessCallback {
 public:
  WaitForOtherSeatCallback(uint64_t stall_at, uint64_t ahead, const CountingCallback& other,
                           std::chrono::milliseconds give_up_after)
      : stall_at_(stall_at), ahead_(ahead), other_(other), give_up_after_(give_up_after) {}
  void process(const realtime::ProcessBlock& block) override {
    if (inside_.exchange(true)) overlapped_.store(true);
    if (block.first_frame != next_frame_) gaps_.fetch_add(1);
    next_frame_ = block.first_frame + block.n_frames;
    if (periods_.fetch_add(1) + 1 == stall_at_) {
      const auto give_up = std::chrono::steady_clock::now() + give_up_after_;
      while (other_.periods() < stall_at_ + ahead_ && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(100us);
      other_played_meanwhile_.store(other_.periods() >= stall_at_ + ahead_);
    }
    inside_.store(false);
  }
  uint64_t periods() const { return periods_.load(); }
  bool other_played_meanwhile() const { return other_played_meanwhile_.load(); }
  bool overlapped() const { return overlapped_.load(); }
  uint64_t gaps() const { return gaps_.load(); }

 private:
  const uint64_t stall_at_, ahead_;
  const CountingCallback& other_;
  const std::chrono::milliseconds give_up_after_;
  uint64_t next_frame_ = 0;
  std::atomic<uint64_t> periods_{0}, gaps_{0};
  std::atomic<bool> inside_{false}, overlapped_{false}, other_played_meanwhile_{false};
};

struct HeldSeat {
  bool other_played_meanwhile = false;
  SharedClockStats stats;
  uint64_t held_periods = 0, held_xruns = 0, other_periods = 0;
};

// Two seats, the first held in its 10th period until the second has played `ahead` periods past
// it (or `give_up_after` passed); then both play on until each has played 12 + ahead periods.
HeldSeat hold_the_first_seat(int standby_threads, uint64_t ahead,
                             std::chrono::milliseconds give_up_after) {
  SharedClock clock(
      {.sample_rate_hz = 48000, .period_frames = 64, .standby_threads = standby_threads});
  auto first = clock.open_seat();
  auto second = clock.open_seat();
  CountingCallback after;
  WaitForOtherSeatCallback holds(/*stall_at=*/10, ahead, after, give_up_after);
  EXPECT_TRUE(first->start(&holds).ok());
  EXPECT_TRUE(second->start(&after).ok());
  wait_for([&] { return holds.periods() >= 12 + ahead && after.periods() >= 12 + ahead; });
  first->stop();
  const uint64_t held_periods = holds.periods();
  const uint64_t other_periods = after.periods();  // read after the first stopped
  second->stop();
  EXPECT_EQ(after.gaps(), 0u);
  EXPECT_EQ(holds.gaps(), 0u);
  EXPECT_FALSE(holds.overlapped());
  return {holds.other_played_meanwhile(), clock.stats(), held_periods,
          first->counters().xruns.load(), other_periods};
}

TEST(SharedClock, AStandbyThreadPlaysTheSeatsAHeldUpPassHasNotReached) {
  const HeldSeat held = hold_the_first_seat(/*standby_threads=*/1, /*ahead=*/0, 5000ms);
  EXPECT_TRUE(held.other_played_meanwhile);
  EXPECT_GE(held.stats.relieved_passes, 1u);
  EXPECT_GE(held.stats.standby_seats, held.stats.relieved_passes);
}

// Without a standby thread, the same pass's other seat waits for the held-up one: the control
// that shows the test above needs the standby.
TEST(SharedClock, WithoutAStandbyAHeldUpPassHoldsItsOtherSeats) {
  const HeldSeat held = hold_the_first_seat(/*standby_threads=*/0, /*ahead=*/0, 300ms);
  EXPECT_FALSE(held.other_played_meanwhile);
  EXPECT_EQ(held.stats.standby_seats, 0u);
}

// A thread held up inside one seat's callback holds up that seat only: the next passes open on
// their deadlines and play the other seat, and leave the held seat's periods owed to its thread,
// which plays them, in order, once its callback returns. The held seat's periods are late.
TEST(SharedClock, AThreadHeldInOneSeatLetsTheNextPassesPlayTheOthers) {
  const HeldSeat held = hold_the_first_seat(/*standby_threads=*/1, /*ahead=*/10, 5000ms);
  EXPECT_TRUE(held.other_played_meanwhile);
  EXPECT_GE(held.stats.owed_periods, 9u);  // passes that reached the held seat meanwhile
  EXPECT_GE(held.held_xruns, 1u);
  // Caught up: the held seat played the owed periods, so it is about as far on as the other.
  EXPECT_GE(held.held_periods + 2, held.other_periods);
}

// Held longer than kMaxOwed periods: the seat's thread owes at most that many, the rest are
// dropped and counted.
TEST(SharedClock, AThreadHeldTooLongPlaysAtMostTheOwedLimitAndCountsTheRestDropped) {
  const HeldSeat held =
      hold_the_first_seat(/*standby_threads=*/1, /*ahead=*/SharedClock::kMaxOwed + 40, 5000ms);
  EXPECT_TRUE(held.other_played_meanwhile);
  EXPECT_EQ(held.stats.owed_periods, SharedClock::kMaxOwed);
  EXPECT_GE(held.stats.dropped_periods, 39u);
}

// Stalls once, on its `stall_at`th period, for `stall`: a pass that runs past its period.
class StallingCallback final : public realtime::ProcessCallback {
 public:
  StallingCallback(uint64_t stall_at, std::chrono::milliseconds stall)
      : stall_at_(stall_at), stall_(stall) {}
  void process(const realtime::ProcessBlock&) override {
    if (periods_.fetch_add(1) + 1 == stall_at_) std::this_thread::sleep_for(stall_);
  }
  uint64_t periods() const { return periods_.load(); }

 private:
  const uint64_t stall_at_;
  const std::chrono::milliseconds stall_;
  std::atomic<uint64_t> periods_{0};
};

// Pinned apart, a vCPU the hypervisor holds holds up one clock thread and not both (session 9).
TEST(SharedClock, ItsThreadsArePinnedToCpusOfTheirOwnAndPlayOnlyThere) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  ASSERT_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
  if (CPU_COUNT(&allowed) < 2) GTEST_SKIP() << "this process may use one CPU only";

  SharedClock clock({.sample_rate_hz = 48000, .period_frames = 64, .standby_threads = 1});
  const std::vector<int> pinned = clock.pinned_cpus();
  ASSERT_EQ(pinned.size(), 2u);  // the pacing thread, then the standby
  EXPECT_NE(pinned[0], pinned[1]);
  uint64_t pinned_bits = 0;
  for (const int cpu : pinned) {
    ASSERT_GE(cpu, 0) << "a clock thread may run on more than one CPU";
    EXPECT_TRUE(CPU_ISSET(cpu, &allowed));
    if (cpu < 64) pinned_bits |= uint64_t{1} << cpu;
  }
  auto seat = clock.open_seat();
  CountingCallback callback;
  ASSERT_TRUE(seat->start(&callback).ok());
  wait_for([&] { return callback.periods() >= 200; });
  seat->stop();
  EXPECT_NE(callback.cpus(), 0u);
  EXPECT_EQ(callback.cpus() & ~pinned_bits, 0u) << "a period ran on a CPU no clock thread owns";

  SharedClock unpinned({.sample_rate_hz = 48000, .period_frames = 64, .pin_threads = false});
  for (const int cpu : unpinned.pinned_cpus()) EXPECT_EQ(cpu, -1);
}

// A seat that overruns makes the seats after it in the pass start late: the clock counts the
// long pass, its length and each late seat's xrun, and logs the pass with its late seats (what
// jam_load_bench attributes to the machine or to jamd).
TEST(SharedClock, ALongPassIsCountedAndItsLateSeatsLogged) {
  // 1.33 ms periods; no standby thread, which would play the second seat on time.
  SharedClock clock({.sample_rate_hz = 48000, .period_frames = 64, .standby_threads = 0});
  auto first = clock.open_seat();
  auto second = clock.open_seat();
  StallingCallback stalls(/*stall_at=*/10, 20ms);
  CountingCallback after;
  ASSERT_TRUE(first->start(&stalls).ok());
  ASSERT_TRUE(second->start(&after).ok());
  wait_for([&] { return after.periods() >= 40; });
  second->stop();
  first->stop();

  const SharedClockStats stats = clock.stats();
  EXPECT_GE(stats.long_passes, 1u);
  EXPECT_GE(stats.max_pass_ms, 20.0);
  EXPECT_GE(stats.passes, 40u);
  uint64_t histogram_total = 0;
  for (uint64_t n : stats.pass_histogram) histogram_total += n;
  EXPECT_EQ(histogram_total, stats.passes);
  EXPECT_GE(stats.pass_percentile_ms(1.0), 16.0);  // the stalled pass is in the last bucket
  EXPECT_GE(second->counters().xruns.load(), 1u);  // started 20 ms after its deadline

  const std::vector<SharedClockLatePass> late = clock.late_passes();
  ASSERT_FALSE(late.empty());
  uint64_t late_seats = 0;
  bool logged_the_stall = false;
  for (const SharedClockLatePass& p : late) {
    late_seats += p.late_seats;
    EXPECT_GT(p.last_late_seat - p.deadline, std::chrono::microseconds(1333));
    EXPECT_GE(p.cpu, 0);
    logged_the_stall |= p.last_late_seat - p.began >= 20ms;
  }
  EXPECT_TRUE(logged_the_stall);
  EXPECT_EQ(late_seats, first->counters().xruns.load() + second->counters().xruns.load());
}

TEST(SharedWorker, RunsEveryWorkEachPassAndARemovedOneNeverAgain) {
  SharedWorker worker({.wake_ms = 1});
  std::atomic<int> a{0}, b{0};
  const SharedWorker::Id ia = worker.add([&] { a.fetch_add(1); });
  const SharedWorker::Id ib = worker.add([&] { b.fetch_add(1); });
  wait_for([&] { return a.load() >= 5 && b.load() >= 5; });
  worker.remove(ia);
  const int a_removed_at = a.load();
  wait_for([&] { return b.load() >= a_removed_at + 10; });
  EXPECT_EQ(a.load(), a_removed_at);
  worker.remove(ib);
}

// A pass longer than the wake-up (a loaded machine) must not lock add() and remove() out.
TEST(SharedWorker, AddAndRemoveGetInWhilePassesRunLong) {
  SharedWorker worker({.wake_ms = 1});
  const SharedWorker::Id slow = worker.add([] { std::this_thread::sleep_for(3ms); });
  for (int i = 0; i < 20; ++i) {
    std::atomic<int> runs{0};
    const SharedWorker::Id id = worker.add([&] { runs.fetch_add(1); });
    wait_for([&] { return runs.load() >= 1; });
    worker.remove(id);
  }
  worker.remove(slow);
}

TEST(ThreadPriority, ThreadsStartedAtANiceValueInheritIt) {
  // Raising priority needs CAP_SYS_NICE; lowering it never does.
  int seen = 0;
  ASSERT_TRUE(start_at_nice(5, [&] {
    std::thread child([&] {
      errno = 0;
      seen = getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)));
    });
    child.join();
  }));
  EXPECT_EQ(seen, 5);
}

}  // namespace
}  // namespace jamd
