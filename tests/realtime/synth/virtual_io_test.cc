// VirtualIo: the virtual clock runs the same Band callback as JACK, with a contiguous sample
// clock, as fast as possible or paced in real time, and stops cleanly.
#include "realtime/io/virtual_io.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "realtime/core/scheduler.h"
#include "realtime/synth/band.h"
#include "realtime/synth/synth.h"

namespace jamd::realtime {
namespace {

// Wraps the band and checks the clock the backend gives it.
class ClockCheck : public ProcessCallback {
 public:
  explicit ClockCheck(ProcessCallback& inner) : inner_(inner) {}
  void process(const ProcessBlock& block) override {
    if (block.first_frame != next_frame_) gaps_.fetch_add(1);
    next_frame_ = block.first_frame + block.n_frames;
    inner_.process(block);
    calls_.fetch_add(1);
  }
  uint64_t gaps() const { return gaps_.load(); }
  uint64_t calls() const { return calls_.load(); }

 private:
  ProcessCallback& inner_;
  uint64_t next_frame_ = 0;
  std::atomic<uint64_t> gaps_{0};
  std::atomic<uint64_t> calls_{0};
};

// Polls until `done` or about ten seconds, so a broken clock fails instead of hanging.
template <typename F>
bool wait_for(F done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(VirtualIo, FastClockRunsTheBandOverAContiguousSampleClock) {
  absl::StatusOr<std::unique_ptr<Synth>> synth = Synth::create({});
  ASSERT_TRUE(synth.ok()) << synth.status();
  Scheduler sched({.sample_rate_hz = 48000, .ticks_per_quarter = 480});
  Band band(sched, **synth);
  ClockCheck check(band);
  int next_beat = 0;
  auto io = make_virtual_io({.sample_rate_hz = 48000,
                             .period_frames = 128,
                             .real_time = false,
                             .rt_priority = 0,
                             .before_period = [&](uint64_t first_frame) {
                               // A note a beat, posted a beat ahead (24000 frames a beat).
                               while (next_beat * 24000 < static_cast<int>(first_frame) + 24000) {
                                 sched.note_on(next_beat * 480, 0, 60, 100);
                                 sched.note_off(next_beat * 480 + 240, 0, 60);
                                 ++next_beat;
                               }
                             }});
  ASSERT_TRUE(io->start(&check).ok());
  EXPECT_TRUE(wait_for([&] { return io->frames_processed() >= 4 * 48000; }));
  io->stop();
  EXPECT_EQ(check.gaps(), 0u);
  EXPECT_EQ(io->counters().periods.load(), check.calls());
  EXPECT_EQ(io->frames_processed(), check.calls() * 128);
  EXPECT_GE(io->midi_out_messages(), 8u);  // four seconds: at least four notes on and off
  EXPECT_EQ(sched.counters().events_late.load(), 0u);
}

TEST(VirtualIo, StopMeansNoMoreCallbacks) {
  absl::StatusOr<std::unique_ptr<Synth>> synth = Synth::create({});
  ASSERT_TRUE(synth.ok()) << synth.status();
  Scheduler sched({});
  Band band(sched, **synth);
  ClockCheck check(band);
  auto io = make_virtual_io({.sample_rate_hz = 48000,
                             .period_frames = 64,
                             .real_time = true,
                             .rt_priority = 0,
                             .before_period = nullptr});
  ASSERT_TRUE(io->start(&check).ok());
  EXPECT_FALSE(io->start(&check).ok());  // already running
  EXPECT_TRUE(wait_for([&] { return check.calls() >= 10; }));
  io->stop();
  const uint64_t calls = check.calls();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(check.calls(), calls);
  EXPECT_EQ(check.gaps(), 0u);
}

TEST(VirtualIo, RealTimeClockDoesNotRunAhead) {
  absl::StatusOr<std::unique_ptr<Synth>> synth = Synth::create({});
  ASSERT_TRUE(synth.ok()) << synth.status();
  Scheduler sched({});
  Band band(sched, **synth);
  auto io = make_virtual_io({.sample_rate_hz = 48000,
                             .period_frames = 256,
                             .real_time = true,
                             .rt_priority = 10,
                             .before_period = nullptr});
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(io->start(&band).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  io->stop();
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Paced: never more audio than the wall time it ran plus one period (an unpaced clock makes
  // tens of seconds of audio in that time).
  EXPECT_LE(io->frames_processed(), static_cast<uint64_t>(wall_s * 48000) + 256);
  EXPECT_GT(io->frames_processed(), 0u);
}

}  // namespace
}  // namespace jamd::realtime
