// The Conductor on its own thread against a real-time virtual clock: the band is generated and
// played while the clock runs, a steering change posted from another thread takes effect, and
// stop() returns with the record intact; with more jams than the live thread steps at once, every
// jam plays and follows steering.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "daemon/conductor/conductor.h"
#include "realtime/io/virtual_io.h"
#include "realtime/synth/band.h"
#include "realtime/synth/synth.h"

namespace jamd {
namespace {

constexpr uint32_t kRate = 48000;
constexpr double kTempoBpm = 240.0;  // a bar a second: the test stays short

// Waits (bounded) until the scheduler's playhead reaches `seconds` of audio.
void wait_for_playhead(const realtime::Scheduler& scheduler, double seconds) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (static_cast<double>(scheduler.playhead_frame()) < seconds * kRate &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

TEST(ConductorLiveTest, ThreadPlaysTheBandAndFollowsSteering) {
  auto synth = realtime::Synth::create({.sample_rate_hz = kRate});
  ASSERT_TRUE(synth.ok()) << synth.status();
  realtime::Scheduler scheduler({.sample_rate_hz = kRate,
                                 .ticks_per_quarter = 480,
                                 .tempo_bpm = kTempoBpm,
                                 .max_events = 65536});
  realtime::Band band(scheduler, **synth);
  auto conductor = Conductor::create({.model_path = JAMD_SOURCE_DIR "/models/band.jamd"});
  ASSERT_TRUE(conductor.ok()) << conductor.status();

  JamState state;
  state.tempo_bpm = kTempoBpm;
  state.key_tonic = -1;
  state.density = 0.5f;
  state.mode = JamMode::kContinue;
  state.seed = 3;
  state.parts[kPartPad].enabled = false;
  state.parts[kPartLead].enabled = false;
  (*conductor)->add_jam(1, state, scheduler, {.sample_rate_hz = kRate, .tempo_bpm = kTempoBpm});
  (*conductor)->start();
  auto io = realtime::make_virtual_io({.sample_rate_hz = kRate, .period_frames = 256});
  ASSERT_TRUE(io->start(&band).ok());

  wait_for_playhead(scheduler, 2.0);
  JamState steered = state;
  steered.parts[kPartDrums].enabled = false;
  steered.parts[kPartKeys].muted = true;
  const auto change_frame = static_cast<int64_t>(scheduler.playhead_frame());
  (*conductor)->post_state(1, steered);  // from this thread: never waits on generation
  wait_for_playhead(scheduler, 6.0);
  (*conductor)->stop();
  io->stop();

  EXPECT_TRUE((*conductor)->status().ok()) << (*conductor)->status();
  EXPECT_GT(scheduler.counters().events_played.load(), 0u);
  const JamRecord* record = (*conductor)->record(1);
  ASSERT_NE(record, nullptr);
  // Drums stop within the commit horizon; two bars of slack for a conductor thread
  // starved by a loaded machine. They played before.
  const int64_t bar_ticks = 4 * 480;
  const int64_t change_bar =
      change_frame * static_cast<int64_t>(kTempoBpm) * 480 / 60 / kRate / bar_ticks;
  int drums_before = 0, drums_late = 0, bass_after = 0;
  for (const TimedNote& n : record->band_notes) {
    if (n.tick < change_bar * bar_ticks) drums_before += n.part == kPartDrums;
    if (n.tick >= (change_bar + 3) * bar_ticks) {
      drums_late += n.part == kPartDrums;
      bass_after += n.part == kPartBass;
    }
  }
  EXPECT_GT(drums_before, 0);
  EXPECT_EQ(drums_late, 0);
  EXPECT_GT(bass_after, 0);
  bool steered_reaction = false;
  for (const Reaction& r : record->reactions) {
    if (r.cause != "steering") continue;
    steered_reaction = true;
    std::printf("  [live] steering -> first note under it: %.1f ms (commit horizon %.0f ms)\n",
                r.ms, Horizons{}.commit_horizon_ms);
  }
  EXPECT_TRUE(steered_reaction);
  std::printf("  [live] %llu events played, %llu late\n",
              static_cast<unsigned long long>(scheduler.counters().events_played.load()),
              static_cast<unsigned long long>(scheduler.counters().events_late.load()));
}

// The live conductor steps its jams in groups of 8 (posting due notes between groups): with 12,
// a group left out would leave its jams silent or deaf to steering.
TEST(ConductorLiveTest, MoreJamsThanAStepGroupAllPlayAndFollowSteering) {
  constexpr int kJams = 12;
  constexpr uint32_t kPeriod = 256;
  auto conductor = Conductor::create({.model_path = JAMD_SOURCE_DIR "/models/band.jamd"});
  ASSERT_TRUE(conductor.ok()) << conductor.status();
  std::vector<std::unique_ptr<realtime::Scheduler>> schedulers;
  JamState state;
  state.tempo_bpm = kTempoBpm;
  state.key_tonic = -1;
  state.density = 0.5f;
  state.mode = JamMode::kContinue;
  state.parts[kPartPad].enabled = false;
  state.parts[kPartLead].enabled = false;
  for (int j = 0; j < kJams; ++j) {
    schedulers.push_back(std::make_unique<realtime::Scheduler>(realtime::SchedulerOptions{
        .sample_rate_hz = kRate, .ticks_per_quarter = 480, .tempo_bpm = kTempoBpm}));
    state.seed = static_cast<uint64_t>(j + 1);
    (*conductor)
        ->add_jam(static_cast<JamId>(j + 1), state, *schedulers.back(),
                  {.sample_rate_hz = kRate, .tempo_bpm = kTempoBpm});
  }
  (*conductor)->start();
  // The clock: every scheduler's period in real time, the events taken as a synth would.
  std::atomic<bool> playing{true};
  std::thread clock([&] {
    auto deadline = std::chrono::steady_clock::now();
    for (uint64_t frame = 0; playing.load(); frame += kPeriod) {
      for (auto& scheduler : schedulers) {
        scheduler->begin_period(frame, kPeriod);
        realtime::MidiMessage message;
        while (scheduler->next_event(message)) {
        }
        scheduler->end_period();
      }
      deadline += std::chrono::microseconds(1'000'000 * kPeriod / kRate);
      std::this_thread::sleep_until(deadline);
    }
  });
  wait_for_playhead(*schedulers[0], 2.0);
  const auto change_frame = static_cast<int64_t>(schedulers[0]->playhead_frame());
  JamState steered = state;
  steered.parts[kPartDrums].enabled = false;
  for (int j = 0; j < kJams; ++j) (*conductor)->post_state(static_cast<JamId>(j + 1), steered);
  wait_for_playhead(*schedulers[0], 7.0);
  (*conductor)->stop();
  playing.store(false);
  clock.join();

  EXPECT_TRUE((*conductor)->status().ok()) << (*conductor)->status();
  const int64_t bar_ticks = 4 * 480;
  const int64_t change_bar =
      change_frame * static_cast<int64_t>(kTempoBpm) * 480 / 60 / kRate / bar_ticks;
  for (int j = 0; j < kJams; ++j) {
    const JamRecord* record = (*conductor)->record(static_cast<JamId>(j + 1));
    ASSERT_NE(record, nullptr);
    // Some seeds leave a part out of a bar: any part counts as playing.
    int notes_before = 0, drums_late = 0, notes_after = 0;
    for (const TimedNote& n : record->band_notes) {
      notes_before += n.tick < change_bar * bar_ticks;
      if (n.tick >= (change_bar + 3) * bar_ticks) {
        drums_late += n.part == kPartDrums;
        ++notes_after;
      }
    }
    EXPECT_GT(notes_before, 0) << "jam " << j + 1;
    EXPECT_EQ(drums_late, 0) << "jam " << j + 1;
    EXPECT_GT(notes_after, 0) << "jam " << j + 1 << " notes " << record->band_notes.size()
                              << " last tick "
                              << (record->band_notes.empty() ? -1 : record->band_notes.back().tick)
                              << " change bar " << change_bar;
    EXPECT_GT(schedulers[j]->counters().events_played.load(), 0u) << "jam " << j + 1;
  }
}

}  // namespace
}  // namespace jamd
