// Key and chord estimation on small hand-made examples.
#include "gtest/gtest.h"
#include "models/tokenizer/harmony.h"
#include "models/vocab/vocabulary.h"

namespace jamd::models {
namespace {

constexpr int kBeat = 480;

Note note(int64_t beat, int64_t beats, int pitch, Role role = Role::kKeys) {
  return Note{beat * kBeat, beats * kBeat, pitch, 90, role};
}

std::string chord_of(std::initializer_list<int> pitches) {
  std::vector<Note> notes;
  for (int p : pitches) notes.push_back(note(0, 2, p));
  const std::array<double, 12> w = pitch_class_weights(notes, 0, 2 * kBeat);
  return chord_name(best_chord(w, *std::min_element(pitches.begin(), pitches.end()) % 12));
}

TEST(Harmony, TriadsAndSeventhsAreNamed) {
  EXPECT_EQ(chord_of({48, 64, 67, 72}), "C:maj");
  EXPECT_EQ(chord_of({45, 60, 64, 67}), "A:min7");
  EXPECT_EQ(chord_of({43, 59, 62, 65}), "G:7");
  EXPECT_EQ(chord_of({41, 57, 60, 64}), "F:maj7");
  EXPECT_EQ(chord_of({50, 65, 69}), "D:min");
  EXPECT_EQ(chord_of({47, 62, 65}), "B:dim");
}

TEST(Harmony, DrumsAndSilenceGiveNoChord) {
  std::vector<Note> drums = {note(0, 1, 36, Role::kDrums), note(1, 1, 38, Role::kDrums)};
  EXPECT_EQ(chord_name(best_chord(pitch_class_weights(drums, 0, 4 * kBeat), -1)), "N");
  EXPECT_EQ(estimate_key(drums), kAnyClass);
}

TEST(Harmony, ScalesGiveTheirKeys) {
  std::vector<Note> c_major;
  int beat = 0;
  for (int p : {60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60}) c_major.push_back(note(beat++, 1, p));
  c_major.push_back(note(beat, 4, 48));
  EXPECT_EQ(key_name(estimate_key(c_major)), "C_maj");

  std::vector<Note> a_minor;
  beat = 0;
  for (int p : {57, 59, 60, 62, 64, 65, 68, 69, 64, 60, 57}) a_minor.push_back(note(beat++, 1, p));
  a_minor.push_back(note(beat, 4, 45));
  EXPECT_EQ(key_name(estimate_key(a_minor)), "A_min");
}

TEST(Harmony, ChordSpansFollowTheWindowsAndMerge) {
  Score s;
  s.ticks_per_beat = kBeat;
  s.bars.resize(2);          // 4/4
  for (int b : {0, 2, 4}) {  // C major for three halves, then G major
    for (int p : {48, 64, 67}) s.notes.push_back(note(b, 2, p));
  }
  for (int p : {43, 59, 62}) s.notes.push_back(note(6, 2, p));
  const std::vector<ChordSpan> spans = estimate_chords(s, 2 * kBeat);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(chord_name(spans[0]), "C:maj");
  EXPECT_EQ(spans[0].start_ticks, 0);
  EXPECT_EQ(chord_name(spans[1]), "G:maj");
  EXPECT_EQ(spans[1].start_ticks, 6 * kBeat);
}

}  // namespace
}  // namespace jamd::models
