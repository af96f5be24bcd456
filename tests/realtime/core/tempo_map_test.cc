// TempoMap: beat ↔ frame exact to the sample, tempo changes on beat boundaries, meters.
#include "realtime/core/tempo_map.h"

#include <gtest/gtest.h>

namespace jamd::realtime {
namespace {

constexpr int kTpq = 480;

TEST(TempoMap, BeatLandsOnItsExactFrame) {
  TempoMap map(48000, kTpq, 120.0);  // a beat is 24000 frames
  EXPECT_EQ(map.frame_at(0), 0);
  EXPECT_EQ(map.frame_at(3 * kTpq), 72000);
  EXPECT_EQ(map.frame_at(3 * kTpq + 1), 72050);
}

TEST(TempoMap, RoundsFractionalFramesToTheNearestSample) {
  TempoMap map(44100, kTpq, 100.0);  // 26460 frames a beat, 55.125 frames a tick
  EXPECT_EQ(map.frame_at(kTpq), 26460);
  EXPECT_EQ(map.frame_at(1), 55);
  EXPECT_EQ(map.frame_at(3), 165);  // 165.375
  EXPECT_EQ(map.frame_at(4), 221);  // 220.5 rounds away from zero
}

TEST(TempoMap, TickAtIsTheInverseOfFrameAt) {
  TempoMap map(44100, kTpq, 97.0);
  map.set_tempo(7 * kTpq, 133.0);
  for (int64_t tick = 0; tick < 20 * kTpq; tick += 37) {
    const int64_t frame = map.frame_at(tick);
    EXPECT_EQ(map.tick_at(frame), tick);
    EXPECT_EQ(map.first_tick_at_or_after(frame), tick);
    EXPECT_LT(map.tick_at(frame - 1), tick);
  }
}

TEST(TempoMap, TempoChangeMovesOnlyLaterFrames) {
  TempoMap map(48000, kTpq, 120.0);
  ASSERT_TRUE(map.set_tempo(4 * kTpq, 60.0));  // a beat becomes 48000 frames
  EXPECT_EQ(map.frame_at(4 * kTpq), 96000);
  EXPECT_EQ(map.frame_at(3 * kTpq), 72000);
  EXPECT_EQ(map.frame_at(5 * kTpq), 144000);
  EXPECT_DOUBLE_EQ(map.tempo_bpm_at(5 * kTpq), 60.0);
}

TEST(TempoMap, LiveTempoChangeLandsOnTheNextBeatBoundary) {
  TempoMap map(48000, kTpq, 120.0);
  const int64_t mid_beat = 2 * kTpq + 100;
  EXPECT_EQ(map.set_tempo_at_next_beat(mid_beat, 90.0), 3 * kTpq);
  EXPECT_DOUBLE_EQ(map.tempo_bpm_at(3 * kTpq - 1), 120.0);
  EXPECT_DOUBLE_EQ(map.tempo_bpm_at(3 * kTpq), 90.0);
  // Already on a boundary: lands right there.
  EXPECT_EQ(map.set_tempo_at_next_beat(5 * kTpq, 100.0), 5 * kTpq);
}

TEST(TempoMap, RefusesChangesBeforeTheLastOne) {
  TempoMap map(48000, kTpq);
  ASSERT_TRUE(map.set_tempo(8 * kTpq, 100.0));
  EXPECT_FALSE(map.set_tempo(4 * kTpq, 90.0));
  EXPECT_DOUBLE_EQ(map.tempo_bpm_at(5 * kTpq), 120.0);
}

TEST(TempoMap, BarBeatTickFollowsTheTimeSignature) {
  TempoMap map(48000, kTpq, 120.0, {3, 4});
  EXPECT_EQ(map.bar_beat_tick(3 * kTpq + 5), (BarBeatTick{1, 0, 5}));
  // From bar 2 on, 6/8: six eighth-note beats of 240 ticks a bar.
  ASSERT_TRUE(map.set_time_signature(6 * kTpq, {6, 8}));
  EXPECT_EQ(map.bar_beat_tick(6 * kTpq), (BarBeatTick{2, 0, 0}));
  EXPECT_EQ(map.bar_beat_tick(6 * kTpq + 7 * 240 + 1), (BarBeatTick{3, 1, 1}));
  EXPECT_EQ(map.next_beat_boundary(6 * kTpq + 1), 6 * kTpq + 240);
}

TEST(TempoMap, ForgettingThePastKeepsFutureFrames) {
  TempoMap map(48000, kTpq, 120.0);
  for (int beat = 1; beat <= 10; ++beat) map.set_tempo(beat * kTpq, 100.0 + beat);
  const int64_t frame = map.frame_at(10 * kTpq + 33);
  map.forget_before(9 * kTpq + 1);
  EXPECT_EQ(map.n_tempo_segments(), 2u);
  EXPECT_EQ(map.frame_at(10 * kTpq + 33), frame);
}

}  // namespace
}  // namespace jamd::realtime
