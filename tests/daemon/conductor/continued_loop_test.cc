// Which loop a resting musician established (established_loop_bars) and the chords the band
// keeps from it (ContinuedLoop), on hand-written progressions.
#include "daemon/conductor/continued_loop.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace jamd {
namespace {

using models::ChordQuality;
using models::ForcedChord;

// A progression heard from bar 0, one chord root per bar: repeats(bar, n) as the conductor
// answers it from the heard chords.
std::optional<int> loop_of(const std::vector<int>& roots) {
  return established_loop_bars(0, static_cast<int64_t>(roots.size()) - 1, [&](int64_t bar, int n) {
    return roots[static_cast<size_t>(bar)] == roots[static_cast<size_t>(bar - n)];
  });
}

TEST(ContinuedLoopTest, ARepeatedProgressionIsItsShortestLoop) {
  EXPECT_EQ(loop_of({0, 7, 9, 5, 0, 7, 9, 5}), 4);
  EXPECT_EQ(loop_of({0, 7, 0, 7, 0, 7}), 2);
  EXPECT_EQ(loop_of({0, 0, 0}), 1);
  // Only the last 8 bars count: an intro before the loop does not hide it.
  EXPECT_EQ(loop_of({2, 4, 0, 7, 9, 5, 0, 7, 9, 5, 0, 7, 9, 5}), 4);
}

TEST(ContinuedLoopTest, APhraseOfTwoFourOrEightBarsHeardOnceIsALoop) {
  EXPECT_EQ(loop_of({0, 9, 5, 7}), 4);
  EXPECT_EQ(loop_of({0, 9}), 2);
  EXPECT_EQ(loop_of({0, 9, 5, 7, 2, 4, 5, 7}), 8);
}

TEST(ContinuedLoopTest, OtherPhrasesAreNoLoop) {
  EXPECT_EQ(loop_of({0}), std::nullopt);                 // one bar: too little
  EXPECT_EQ(loop_of({0, 7, 9}), std::nullopt);           // three bars
  EXPECT_EQ(loop_of({0, 7, 9, 5, 2, 4}), std::nullopt);  // six bars that never repeat
  EXPECT_EQ(loop_of({0, 7, 9, 5, 2, 4, 5, 7, 0, 9, 2, 4}), std::nullopt);  // twelve
}

TEST(ContinuedLoopTest, TheBarsAfterTheLastStartTheLoopAgain) {
  // The period of bars 4-7 (C G Am F), the musician's last bar 7.
  const std::vector<std::vector<ForcedChord>> period = {
      {{0, 0, ChordQuality::kMaj}},
      {{0, 7, ChordQuality::kMaj}},
      {{0, 9, ChordQuality::kMin}},
      {{0, 5, ChordQuality::kMaj}, {24, 7, ChordQuality::kMaj}},  // F, G on beat 3
  };
  const ContinuedLoop loop(7, period);
  EXPECT_EQ(loop.loop_bars(), 4);
  EXPECT_EQ(loop.chords_for(8).front().root_pitch_class, 0);
  EXPECT_EQ(loop.chords_for(10).front().root_pitch_class, 9);
  ASSERT_EQ(loop.chords_for(11).size(), 2u);
  EXPECT_EQ(loop.chords_for(11)[1].position_grid, 24);
  EXPECT_EQ(loop.chords_for(13).front().root_pitch_class, 7);  // a loop later
}

}  // namespace
}  // namespace jamd
