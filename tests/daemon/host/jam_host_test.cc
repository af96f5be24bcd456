// JamHost on the real-time virtual clock with the bundled model and the real synth: the mix
// subscriber gets contiguous, non-silent audio, the notes subscriber gets the band's notes, a
// mute posted through post_state silences the band from the next period on, and a subscriber
// that never reads loses only its own blocks.
#include "daemon/host/jam_host.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>
#include <vector>

namespace jamd {
namespace {

constexpr double kTempoBpm = 240.0;  // a bar a second: the test stays short
constexpr int kGiveUpSeconds = 60;   // bounds a wait on a starved machine; never an assertion

JamState test_state() {
  JamState state;
  state.tempo_bpm = kTempoBpm;
  state.key_tonic = -1;
  state.density = 0.5f;
  state.mode = JamMode::kContinue;
  state.seed = 3;
  state.parts[kPartPad].enabled = false;
  state.parts[kPartLead].enabled = false;
  return state;
}

void wait_for_frames(const JamHost& host, uint64_t frames) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(kGiveUpSeconds);
  while (host.stats().frames_played < frames && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

float peak(const MixBlock& block) {
  float p = 0.0f;
  for (float s : block.interleaved) p = std::max(p, std::abs(s));
  return p;
}

TEST(JamHostTest, PlaysTapsMutesAndDropsOnlyForASlowSubscriber) {
  auto conductor = Conductor::create({.model_path = JAMD_SOURCE_DIR "/models/band.jamd"});
  ASSERT_TRUE(conductor.ok()) << conductor.status();
  (*conductor)->start();
  const JamState state = test_state();
  JamHostOptions options;
  options.synth_effects = false;  // the dry band: no reverb tail after the mute
  auto host = JamHost::start(7, state, **conductor, options);
  ASSERT_TRUE(host.ok()) << host.status();
  const uint32_t rate = (*host)->sample_rate_hz();
  auto mix = (*host)->subscribe_mix(100000, nullptr);
  auto notes = (*host)->subscribe_notes(100000, nullptr);
  auto slow = (*host)->subscribe_mix(4, nullptr);  // never popped

  wait_for_frames(**host, 3 * rate);
  JamState muted = state;
  for (PartState& part : muted.parts) part.muted = true;
  (*host)->post_state(muted);
  wait_for_frames(**host, 5 * rate);
  const JamHostStats stats = (*host)->stats();
  (*host)->stop();
  (*host)->stop();  // idempotent
  EXPECT_TRUE((*conductor)->status().ok()) << (*conductor)->status();

  ASSERT_EQ(stats.instant_controls_applied, 1u);
  const uint64_t mute_frame = stats.instant_controls_frame;
  EXPECT_GT(mute_frame, 3u * rate);
  std::vector<MixBlock> blocks;
  while (auto b = mix->pop()) blocks.push_back(std::move(*b));
  EXPECT_TRUE(mix->finished());
  ASSERT_FALSE(blocks.empty());
  EXPECT_EQ(blocks.front().first_frame, 0u);
  float peak_before = 0.0f, peak_tail = 0.0f;
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (i > 0) {
      ASSERT_EQ(blocks[i].first_frame,
                blocks[i - 1].first_frame + blocks[i - 1].interleaved.size() / 2)
          << "block " << i;
    }
    if (blocks[i].first_frame + blocks[i].interleaved.size() / 2 <= mute_frame) {
      peak_before = std::max(peak_before, peak(blocks[i]));
    }
    // From the next block on: CC 7 = 0 is -96 dB, reached within one 64-frame synth block.
    if (blocks[i].first_frame >= mute_frame) {
      peak_tail = std::max(peak_tail, peak(blocks[i]));
    }
  }
  EXPECT_GE(blocks.back().first_frame + blocks.back().interleaved.size() / 2, 5u * rate);
  EXPECT_GT(peak_before, 0.01f);
  EXPECT_LT(peak_tail, peak_before * 0.001f);
  std::printf("  [host] %zu blocks, peak %.3f before the mute, %.6f from the next block on\n",
              blocks.size(),
              peak_before, peak_tail);

  int generated = 0, after_mute = 0;
  while (auto n = notes->pop()) {
    EXPECT_EQ(n->source, TappedNote::Source::kGenerated);
    EXPECT_GE(n->part, 0);
    EXPECT_GE(n->bar, 0);
    generated += 1;
    // A muted part's note-ons stop at the period the controls were applied in.
    after_mute += n->onset_frame >= mute_frame ? 1 : 0;
  }
  EXPECT_GT(generated, 10);
  EXPECT_EQ(after_mute, 0);

  EXPECT_GT(slow->n_dropped(), 0u);
  EXPECT_EQ(mix->n_dropped(), 0u);
  EXPECT_EQ(stats.mix_frames_lost, 0u);
}

TEST(JamHostTest, StopWithoutAnyoneListeningAndABadSoundFont) {
  auto conductor = Conductor::create({.model_path = JAMD_SOURCE_DIR "/models/band.jamd"});
  ASSERT_TRUE(conductor.ok()) << conductor.status();
  (*conductor)->start();
  JamHostOptions bad_options;
  bad_options.soundfont = "/nonexistent.sf2";
  auto bad = JamHost::start(1, test_state(), **conductor, bad_options);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("/nonexistent.sf2"), std::string::npos) << bad.status();
  auto host = JamHost::start(2, test_state(), **conductor, {});
  ASSERT_TRUE(host.ok()) << host.status();
  auto notes = (*host)->subscribe_notes(16, nullptr);
  host->reset();  // the destructor stops
  EXPECT_TRUE(notes->finished() || notes->pop().has_value());
}

}  // namespace
}  // namespace jamd
