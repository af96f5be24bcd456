// SharedClock under ThreadSanitizer: the pacing thread and a standby take every pass's seats
// from one cursor, so a seat's callback moves between threads from period to period. Its state
// is plain (non-atomic) memory: TSan reports a race unless each period's writes happen-before
// the next period's reads, whichever thread plays it. Seats start and stop meanwhile, and one
// callback now and then holds its thread up, so the standby takes over passes and the held seat's
// next periods are owed to the thread in its callback.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "daemon/host/shared_clock.h"

namespace jamd {
namespace {

using namespace std::chrono_literals;

// Every field plain: only the clock's ordering keeps the periods apart.
class PlainStateCallback final : public realtime::ProcessCallback {
 public:
  explicit PlainStateCallback(int hold_every) : hold_every_(hold_every) {}
  void process(const realtime::ProcessBlock& block) override {
    if (block.first_frame != next_frame_) ++gaps_;
    next_frame_ = block.first_frame + block.n_frames;
    history_[periods_ % history_.size()] = block.first_frame;
    ++periods_;
    if (hold_every_ > 0 && periods_ % static_cast<uint64_t>(hold_every_) == 0)
      std::this_thread::sleep_for(2ms);  // this pass's thread held up: the standby's turn
  }
  // Read after the seat stopped (stop() returns once no thread can be playing it).
  uint64_t periods() const { return periods_; }
  uint64_t gaps() const { return gaps_; }

 private:
  const int hold_every_;
  uint64_t next_frame_ = 0, periods_ = 0, gaps_ = 0;
  std::vector<uint64_t> history_ = std::vector<uint64_t>(16);
};

TEST(SharedClockTsan, SeatsMovingBetweenThreadsKeepTheirPeriodsInOrder) {
  SharedClock clock({.sample_rate_hz = 48000,
                     .period_frames = 64,
                     .threads = 1,
                     .standby_threads = 1,
                     .standby_after = 0.25});
  for (int round = 0; round < 4; ++round) {
    std::vector<std::unique_ptr<PlainStateCallback>> callbacks;
    std::vector<std::unique_ptr<realtime::AudioIo>> seats;
    for (int i = 0; i < 6; ++i) {
      callbacks.push_back(std::make_unique<PlainStateCallback>(i == 0 ? 50 : 0));
      seats.push_back(clock.open_seat());
      ASSERT_TRUE(seats.back()->start(callbacks.back().get()).ok());
    }
    std::this_thread::sleep_for(300ms);
    for (size_t i = 0; i < seats.size(); ++i) {
      seats[i]->stop();
      EXPECT_GT(callbacks[i]->periods(), 0u);
      EXPECT_EQ(callbacks[i]->gaps(), 0u);
      EXPECT_EQ(seats[i]->counters().periods.load(), callbacks[i]->periods());
    }
  }
  EXPECT_GE(clock.stats().standby_seats, 1u);
  EXPECT_GE(clock.stats().owed_periods, 1u);  // a held seat's periods, played by its holder
}

}  // namespace
}  // namespace jamd
