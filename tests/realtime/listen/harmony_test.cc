// Chord and key guesses from pitch-class profiles, and the per-beat chord follower.
#include "realtime/listen/harmony.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace jamd::realtime {
namespace {

Chroma notes(std::initializer_list<int> pcs) {
  Chroma c{};
  for (int pc : pcs) c[static_cast<size_t>(pc % 12)] += 1.0f;
  return c;
}

TEST(GuessChord, NamesEachQualityFromItsNotes) {
  EXPECT_EQ(chord_name(guess_chord(notes({0, 4, 7}), ChromaKind::kSymbolic).chord), "C:maj");
  EXPECT_EQ(chord_name(guess_chord(notes({2, 5, 9}), ChromaKind::kSymbolic).chord), "D:min");
  EXPECT_EQ(chord_name(guess_chord(notes({7, 11, 2, 5}), ChromaKind::kSymbolic).chord), "G:7");
  EXPECT_EQ(chord_name(guess_chord(notes({9, 0, 4, 7}), ChromaKind::kSymbolic).chord), "A:min7");
  EXPECT_EQ(chord_name(guess_chord(notes({5, 9, 0, 4}), ChromaKind::kSymbolic).chord), "F:maj7");
  EXPECT_EQ(chord_name(guess_chord(notes({11, 2, 5}), ChromaKind::kSymbolic).chord), "B:dim");
}

TEST(GuessChord, SilenceOneNoteAndNoiseAreNoChord) {
  EXPECT_EQ(guess_chord(Chroma{}, ChromaKind::kAudio).chord.quality, ChordQuality::kNone);
  EXPECT_EQ(guess_chord(notes({4}), ChromaKind::kSymbolic).chord.quality, ChordQuality::kNone);
  Chroma flat;
  flat.fill(1.0f);
  EXPECT_EQ(guess_chord(flat, ChromaKind::kAudio).chord.quality, ChordQuality::kNone);
}

TEST(GuessChord, AudioOvertonesDoNotTurnATriadIntoASeventh) {
  // C E G with their 3rd and 5th harmonics (G, B, D, G#): still C major.
  Chroma c = notes({0, 4, 7});
  c[7] += 0.36f, c[11] += 0.36f, c[2] += 0.36f, c[4] += 0.13f, c[8] += 0.13f;
  EXPECT_EQ(chord_name(guess_chord(c, ChromaKind::kAudio).chord), "C:maj");
}

TEST(GuessKey, FindsMajorAndMinorKeysFromScaleWeights) {
  Chroma c_major = notes({0, 0, 2, 4, 4, 5, 7, 7, 9, 11});
  EXPECT_EQ(key_name(guess_key(c_major).key), "C major");
  Chroma a_minor = notes({9, 9, 11, 0, 0, 2, 4, 4, 5, 8});
  EXPECT_EQ(key_name(guess_key(a_minor).key), "A minor");
  EXPECT_EQ(guess_key(Chroma{}).key.tonic_pc, -1);
}

TEST(ChordFollower, KeepsTheChordThroughPartialBeatsAndSwitchesOnContradiction) {
  ChordFollower f;
  // A:maj7 as an arpeggio: root and third, then fifth and seventh.
  const Chroma a_bass = notes({9});
  EXPECT_EQ(chord_name(f.update(notes({9, 1}), ChromaKind::kSymbolic, &a_bass).chord), "A:maj");
  EXPECT_EQ(chord_name(f.update(notes({4, 8}), ChromaKind::kSymbolic, nullptr).chord), "A:maj7");
  // D major arrives: D and F# in the bass register, neither a tone of A:maj7.
  Chroma bass = notes({2});
  EXPECT_EQ(chord_name(f.update(notes({2, 6}), ChromaKind::kSymbolic, &bass).chord), "D:maj");
  EXPECT_EQ(f.silence().chord.quality, ChordQuality::kNone);
}

TEST(ChordFollower, LearnsThatAChordIsASeventhAndNamesItOnItsFirstBeatNextTime) {
  ChordFollower f;
  const Chroma a_bass = notes({9}), d_bass = notes({2});
  // A:7 arpeggiated: A C# (the seventh unheard yet), E G, then D major; twice.
  std::vector<std::string> first_beats;
  for (int round = 0; round < 2; ++round) {
    first_beats.push_back(
        chord_name(f.update(notes({9, 1}), ChromaKind::kSymbolic, &a_bass).chord));
    EXPECT_EQ(chord_name(f.update(notes({4, 7}), ChromaKind::kSymbolic, nullptr).chord), "A:7");
    EXPECT_EQ(chord_name(f.update(notes({1, 4}), ChromaKind::kSymbolic, nullptr).chord), "A:7");
    for (int beat = 0; beat < 3; ++beat) {
      EXPECT_EQ(chord_name(f.update(notes({2, 6, 9}), ChromaKind::kSymbolic, &d_bass).chord),
                "D:maj");
    }
  }
  EXPECT_EQ(first_beats[0], "A:maj") << "nothing says it is a seventh yet";
  EXPECT_EQ(first_beats[1], "A:7") << "the song's A is an A:7";
}

TEST(ChordFollower, ABlockChordWithoutTheRootIsNotTheSeventhOfTheChordBefore) {
  ChordFollower f;
  const Chroma e_bass = notes({4}), gs_bass = notes({8});
  for (int beat = 0; beat < 4; ++beat) f.update(notes({4, 8, 11}), ChromaKind::kSymbolic, &e_bass);
  // G#:min (G# B D#) shares three notes with E:maj7, but a full chord struck without E is not E.
  EXPECT_EQ(chord_name(f.update(notes({8, 11, 3}), ChromaKind::kSymbolic, &gs_bass).chord),
            "G#:min");
}

}  // namespace
}  // namespace jamd::realtime
