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

TEST(GuessKey, IsUnsureUntilTheNotesHeardLeaveOneScale) {
  // C and G: C D E G B are in C major and in G major alike (no F or F# yet).
  const Chroma c_and_g = notes({0, 4, 7, 7, 11, 2});
  EXPECT_LT(guess_key(c_and_g).confidence, 0.5f) << key_name(guess_key(c_and_g).key);
  // C G Am F: F leaves C major.
  const Chroma loop = notes({0, 4, 7, 7, 11, 2, 9, 0, 4, 5, 9, 0});
  EXPECT_EQ(key_name(guess_key(loop).key), "C major");
  EXPECT_GE(guess_key(loop).confidence, 0.5f);
  // Mostly E minor chords, with C and F: only C major's scale holds E G B C F A, so a key named
  // from E minor's profile (G major's scale, F# not F) is no sure key.
  const KeyGuess in_c = guess_key(notes({4, 7, 11, 4, 7, 11, 4, 7, 11, 0, 4, 7, 5, 9, 0}));
  EXPECT_TRUE(key_name(in_c.key) == "C major" || in_c.confidence < 0.5f)
      << key_name(in_c.key) << " " << in_c.confidence;
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

// The audio chroma of one beat (compressed, as the follower compresses it: raw = c * c), measured
// on jam_reaction_bench's piano take: F:maj (F A C, C strong as F's third harmonic), then the
// first beat of D:min after it (D arrives; F and A stay; C still rings from F's harmonics).
Chroma audio_beat(const std::array<float, 12>& compressed) {
  Chroma raw{};
  for (size_t i = 0; i < 12; ++i) raw[i] = compressed[i] * compressed[i];
  return raw;
}

TEST(ChordFollower, APitchClassArrivingInAnAudioBeatMovesToAChordThatHasIt) {
  const Chroma f_major = audio_beat(
      {1.00f, 0.01f, 0.01f, 0.04f, 0.21f, 0.82f, 0.03f, 0.31f, 0.03f, 0.70f, 0.06f, 0.03f});
  const Chroma d_minor = audio_beat(
      {0.63f, 0.00f, 1.00f, 0.04f, 0.27f, 0.99f, 0.55f, 0.05f, 0.07f, 0.94f, 0.05f, 0.01f});
  const Chroma c_major = audio_beat(
      {0.94f, 0.00f, 0.33f, 0.00f, 1.00f, 0.30f, 0.27f, 0.80f, 0.30f, 0.15f, 0.23f, 0.43f});
  Chroma g_major{};  // C:maj's beat a fifth up
  for (size_t i = 0; i < 12; ++i) g_major[(i + 7) % 12] = c_major[i];
  ChordFollower f;
  // The song has played D:min once, then C:maj, G:maj and F:maj four times each: D:min is in the
  // vocabulary, but less than the others (as on the take's second D:min).
  for (int beat = 0; beat < 2; ++beat) f.update(d_minor, ChromaKind::kAudio, nullptr);
  for (int round = 0; round < 4; ++round) {
    for (const Chroma* chord : std::array<const Chroma*, 3>{&c_major, &g_major, &f_major}) {
      for (int beat = 0; beat < 2; ++beat) f.update(*chord, ChromaKind::kAudio, nullptr);
    }
  }
  EXPECT_EQ(chord_name(f.update(f_major, ChromaKind::kAudio, nullptr).chord), "F:maj");
  // D:min's templates share F and A with F:maj's: the template fit alone tells them apart by
  // less than staying on F outweighs. D arriving (0.01 -> 1.0) is what names the change at once.
  EXPECT_EQ(chord_name(f.update(d_minor, ChromaKind::kAudio, nullptr).chord), "D:min");
}

}  // namespace
}  // namespace jamd::realtime
