// HeardChordKey names the musician's key from the chords they play, from the first beat, and
// keeps it while the progression loops (the relative minor covers the same chords).
#include "daemon/conductor/heard_chord_key.h"

#include <gtest/gtest.h>

#include <vector>

namespace jamd {
namespace {

using realtime::Chord;
using realtime::ChordQuality;
using realtime::Key;

constexpr Chord kMaj(int root) { return {root, ChordQuality::kMajor}; }
constexpr Chord kMin(int root) { return {root, ChordQuality::kMinor}; }

// Hears `bars` bars of the progression, a chord a bar of 4 beats, and returns the key after
// every beat.
std::vector<Key> hear_loop(HeardChordKey& key, const std::vector<Chord>& progression, int bars) {
  std::vector<Key> keys;
  for (int bar = 0; bar < bars; ++bar) {
    for (int beat = 0; beat < 4; ++beat) {
      key.hear(progression[static_cast<size_t>(bar) % progression.size()]);
      keys.push_back(key.key().value_or(Key{}));
    }
  }
  return keys;
}

TEST(HeardChordKeyTest, NothingBeforeTheFirstChord) {
  HeardChordKey key;
  key.hear({});  // "no chord"
  EXPECT_FALSE(key.key().has_value());
}

TEST(HeardChordKeyTest, CGAmFIsCMajorFromTheFirstBeatAndStaysSo) {
  // The listener's pitch profile names G major at 4 s on this take; the chords never do, also
  // when the window starts on the A minor bar (A minor covers the same chords).
  HeardChordKey key;
  const std::vector<Key> keys = hear_loop(key, {kMaj(0), kMaj(7), kMin(9), kMaj(5)}, 24);
  for (size_t beat = 0; beat < keys.size(); ++beat) {
    EXPECT_EQ(keys[beat], (Key{0, false})) << "beat " << beat;
  }
}

TEST(HeardChordKeyTest, FSharpMajorFromItsChords) {
  HeardChordKey key;
  const std::vector<Key> keys = hear_loop(key, {kMaj(6), kMaj(11), kMaj(1), kMin(3)}, 4);
  EXPECT_EQ(keys.back(), (Key{6, false}));
}

TEST(HeardChordKeyTest, AMinorWithItsMajorDominant) {
  HeardChordKey key;
  const std::vector<Key> keys =
      hear_loop(key, {kMin(9), kMin(2), {4, ChordQuality::kDominant7}, kMin(9)}, 4);
  EXPECT_EQ(keys.back(), (Key{9, true}));
}

TEST(HeardChordKeyTest, TwoFiveOneIsTheKeyOfTheOne) {
  HeardChordKey key;  // Dm7 G7 Cmaj7: D minor after the first bar, C major once G7 is heard
  const std::vector<Key> keys = hear_loop(
      key, {{2, ChordQuality::kMinor7}, {7, ChordQuality::kDominant7}, {0, ChordQuality::kMajor7}},
      3);
  EXPECT_EQ(keys[3], (Key{2, true}));
  EXPECT_EQ(keys.back(), (Key{0, false}));
}

TEST(HeardChordKeyTest, FollowsAChangeOfKeyWithinAFewBars) {
  HeardChordKey key;
  hear_loop(key, {kMaj(0), kMaj(5), kMaj(7), kMaj(0)}, 8);                                // C F G C
  const std::vector<Key> keys = hear_loop(key, {kMaj(2), kMaj(7), kMaj(9), kMaj(2)}, 8);  // D G A D
  EXPECT_EQ(keys.front(), (Key{0, false})) << "one bar of D does not move the key yet";
  EXPECT_EQ(keys.back(), (Key{2, false}));
}

TEST(HeardChordKeyTest, DiatonicChords) {
  EXPECT_TRUE(diatonic(kMaj(7), Key{0, false}));   // G in C major
  EXPECT_FALSE(diatonic(kMaj(7), Key{5, false}));  // G in F major: G minor is
  EXPECT_TRUE(diatonic(kMaj(4), Key{9, true}));    // E in A minor: the harmonic minor's dominant
  EXPECT_FALSE(diatonic(kMaj(2), Key{9, true}));   // D in A minor
  EXPECT_TRUE(diatonic({11, ChordQuality::kDiminished}, Key{0, false}));
  EXPECT_FALSE(diatonic(Chord{}, Key{0, false}));
}

}  // namespace
}  // namespace jamd
