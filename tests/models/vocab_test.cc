// The vocabulary: stable names and ids, lookup, class scales and the hash the model file stores.
#include <set>
#include <span>
#include <string>

#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "models/engine/weight_file.h"
#include "models/vocab/vocabulary.h"

namespace jamd::models {
namespace {

TEST(Vocabulary, NamesAreUniqueAndFoundById) {
  const Vocabulary& v = Vocabulary::get();
  std::set<std::string> names;
  for (TokenId id = 0; id < v.size(); ++id) {
    EXPECT_TRUE(names.insert(v.name(id)).second) << v.name(id);
    absl::StatusOr<TokenId> found = v.find(v.name(id));
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(*found, id);
  }
  EXPECT_LT(v.size(), 65536) << "token files store ids as uint16";
}

TEST(Vocabulary, UnknownNameIsNotFound) {
  absl::StatusOr<TokenId> t = Vocabulary::get().find("Pitch_128");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(std::string(t.status().message()).find("Pitch_128"), std::string::npos);
}

TEST(Vocabulary, HashIsFnv1aOfNamesJoinedByNewline) {
  const Vocabulary& v = Vocabulary::get();
  std::vector<std::string> names;
  for (TokenId id = 0; id < v.size(); ++id) names.push_back(v.name(id));
  const std::string joined = absl::StrJoin(names, "\n");
  EXPECT_EQ(v.hash(), fnv1a64(std::as_bytes(std::span<const char>(joined.data(), joined.size()))));
}

// Trained models and token files carry this hash: changing the vocabulary makes them unusable.
// When that is intended, update the value here and in docs/vocabulary.md, and retrain.
TEST(Vocabulary, HashIsPinned) {
  EXPECT_EQ(Vocabulary::get().size(), 481);
  EXPECT_EQ(Vocabulary::get().hash(), 0x404a894900269427ull);
}

TEST(Vocabulary, BuildersNameWhatTheyMean) {
  const Vocabulary& v = Vocabulary::get();
  EXPECT_EQ(v.name(v.pitch(60)), "Pitch_60");
  EXPECT_EQ(v.name(v.position(47)), "Pos_47");
  EXPECT_EQ(v.name(v.chord(9, ChordQuality::kMin7)), "Chord_A_min7");
  EXPECT_EQ(v.name(v.no_chord()), "Chord_none");
  EXPECT_EQ(v.name(v.density(static_cast<int>(Role::kBass), kAnyClass)), "Density_bass_any");
  EXPECT_EQ(v.name(v.key(21)), "Key_A_min");
  EXPECT_EQ(v.name(v.meter(meter_index({6, 8}))), "Meter_6/8");
  EXPECT_EQ(v.name(v.duration(duration_class(12))), "Dur_12");
  EXPECT_EQ(v.name(v.part(Role::kHuman)), "Part_human");
  EXPECT_EQ(v.info(v.density(2, 3)).role, 2);
  EXPECT_EQ(v.info(v.density(2, 3)).value, 3);
}

TEST(VocabularyClasses, TempoClassCentresMapToThemselves) {
  for (int c = 0; c < kNumTempoClasses; ++c) EXPECT_EQ(tempo_class(tempo_class_bpm(c)), c);
  EXPECT_EQ(tempo_class(10.0), 0);
  EXPECT_EQ(tempo_class(1000.0), kNumTempoClasses - 1);
  EXPECT_NEAR(tempo_class_bpm(tempo_class(120.0)), 120.0, 120.0 * 0.04);
}

TEST(VocabularyClasses, VelocityClassesCoverTheMidiRange) {
  EXPECT_EQ(velocity_class(1), 0);
  EXPECT_EQ(velocity_class(127), kNumVelocityClasses - 1);
  for (int v = 1; v <= 127; ++v) {
    EXPECT_LE(std::abs(velocity_class_value(velocity_class(v)) - v), 4) << v;
  }
}

TEST(VocabularyClasses, DurationClassesKeepStraightAndTripletValues) {
  for (int d : {1, 2, 3, 4, 6, 8, 12, 16, 24, 48, 96}) {
    EXPECT_EQ(kDurationGrid[duration_class(d)], d) << d;
  }
  EXPECT_EQ(kDurationGrid[duration_class(0)], 1);
  EXPECT_EQ(kDurationGrid[duration_class(5000)], 192);
  EXPECT_EQ(kDurationGrid[duration_class(13)], 12);
}

}  // namespace
}  // namespace jamd::models
