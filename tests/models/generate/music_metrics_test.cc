// jamd-eval's music metrics on hand-made scores whose values are known by construction.
#include "models/eval/music_metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace jamd::models::eval {
namespace {

constexpr int kTpb = 12;  // ticks per beat, as decode() gives

Score bars_of_4_4(int n_bars, int key = kAnyClass) {
  Score s;
  s.ticks_per_beat = kTpb;
  for (int b = 0; b < n_bars; ++b) {
    BarInfo bar;
    bar.controls.key = key;
    s.bars.push_back(bar);
  }
  return s;
}

void add(Score& s, int64_t tick, int pitch, Role role) {
  s.notes.push_back(Note{tick, kTpb, pitch, 90, role});
}

TEST(MusicMetrics, IdenticalBarsHavePerfectGrooveAndNoEmptyBeats) {
  Score s = bars_of_4_4(4);
  for (int b = 0; b < 4; ++b) {
    for (int beat = 0; beat < 4; ++beat) add(s, (b * 4 + beat) * kTpb, 36, Role::kDrums);
  }
  const SegmentMetrics m = segment_metrics(s, 0, 4);
  EXPECT_DOUBLE_EQ(m.groove_consistency, 1.0);
  EXPECT_DOUBLE_EQ(m.empty_beat_rate, 0.0);
  EXPECT_TRUE(std::isnan(m.pitch_class_entropy));  // drums have no pitch classes
}

TEST(MusicMetrics, EmptyBeatsAndGrooveDistanceCount) {
  Score s = bars_of_4_4(2);
  add(s, 0, 36, Role::kDrums);             // bar 0: onset at grid 0 only
  add(s, 4 * kTpb + 6, 36, Role::kDrums);  // bar 1: onset at grid 6 only
  const SegmentMetrics m = segment_metrics(s, 0, 2);
  EXPECT_DOUBLE_EQ(m.empty_beat_rate, 6.0 / 8.0);
  EXPECT_DOUBLE_EQ(m.groove_consistency, 1.0 - 2.0 / 48.0);
}

TEST(MusicMetrics, PitchClassEntropyAndScaleConsistency) {
  Score s = bars_of_4_4(1);
  add(s, 0, 60, Role::kKeys);   // C
  add(s, 12, 64, Role::kKeys);  // E
  add(s, 24, 67, Role::kKeys);  // G
  add(s, 36, 61, Role::kKeys);  // C#: in no scale that also holds C, E and G
  add(s, 0, 62, Role::kHuman);  // the human is left out
  const SegmentMetrics m = segment_metrics(s, 0, 1);
  EXPECT_DOUBLE_EQ(m.pitch_class_entropy, 2.0);  // four equally likely classes
  EXPECT_DOUBLE_EQ(m.scale_consistency, 0.75);
}

TEST(MusicMetrics, KeyAndChordToneShares) {
  Score s = bars_of_4_4(1, /*key=*/0);
  s.chords.push_back(ChordSpan{0, 0, ChordQuality::kMaj});
  s.chords.push_back(ChordSpan{24, 7, ChordQuality::kDom7});
  add(s, 0, 48, Role::kBass);   // C on C:maj: chord tone, in key
  add(s, 12, 62, Role::kKeys);  // D on C:maj: not a chord tone, in key
  add(s, 24, 65, Role::kKeys);  // F on G:7: chord tone (the seventh), in key
  add(s, 36, 66, Role::kLead);  // F#: out of key; lead is not counted for chord tones
  NoteShare key, tones;
  count_notes_in_key(s, 0, 1, &key);
  count_chord_tones(s, 0, 1, &tones);
  EXPECT_EQ(key.total, 4);
  EXPECT_EQ(key.passing, 3);
  EXPECT_EQ(tones.total, 3);
  EXPECT_EQ(tones.passing, 2);
}

TEST(MusicMetrics, DensityClassCountsDistinctOnsets) {
  Score s = bars_of_4_4(1);
  for (int i = 0; i < 8; ++i) {  // eighth notes, two pitches each: 8 onsets in 4 beats
    add(s, i * 6, 60, Role::kKeys);
    add(s, i * 6, 64, Role::kKeys);
  }
  EXPECT_EQ(measured_density_class(s, 0, Role::kKeys), 4);  // 2 onsets a beat: class 4 (< 4)
  EXPECT_EQ(measured_density_class(s, 0, Role::kBass), 0);
  EXPECT_EQ(notes_in_bar(s, 0, Role::kKeys), 16);
}

}  // namespace
}  // namespace jamd::models::eval
