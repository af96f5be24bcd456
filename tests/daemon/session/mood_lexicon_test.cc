// The mood lexicon: known words move controls the documented way; unknown words suggest.
#include "daemon/jam/mood_lexicon.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace jamd {
namespace {

TEST(MoodLexicon, CalmLowersEnergyAndEnergeticRaisesIt) {
  EXPECT_LT(blend_mood({{"calm", 1}}).energy_class, MoodControls{}.energy_class);
  EXPECT_GT(blend_mood({{"energetic", 1}}).energy_class, MoodControls{}.energy_class);
}

TEST(MoodLexicon, WeightsDecideTheBlend) {
  const float mostly_sad = blend_mood({{"happy", 1}, {"sad", 3}}).valence_class;
  const float mostly_happy = blend_mood({{"happy", 3}, {"sad", 1}}).valence_class;
  EXPECT_LT(mostly_sad, MoodControls{}.valence_class);
  EXPECT_GT(mostly_happy, MoodControls{}.valence_class);
}

TEST(MoodLexicon, HeaviestStyleWins) {
  EXPECT_EQ(blend_mood({{"funky", 1}, {"jazz", 2}}).style, "jazz");
  EXPECT_EQ(blend_mood({{"new orleans groove", 1}}).style, "neworleans");
  EXPECT_EQ(blend_mood({}).style, "");
}

TEST(MoodLexicon, IntensifierScalesTheNextWord) {
  const MoodEffect dark = *mood_effect("dark");
  const MoodEffect very_dark = *mood_effect("very dark");
  EXPECT_FLOAT_EQ(very_dark.valence_delta, 1.5f * dark.valence_delta);
}

TEST(MoodLexicon, UnknownWordIsInvalidArgumentWithCloseWords) {
  absl::Status st = check_mood_text("very drak");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("'drak'"), std::string::npos) << st;
  EXPECT_NE(st.message().find("dark"), std::string::npos) << st;
}

TEST(MoodLexicon, PhraseWithoutMoodWordIsRejected) {
  EXPECT_EQ(check_mood_text("the and").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(check_mood_text("").code(), absl::StatusCode::kInvalidArgument);
}

TEST(MoodLexicon, ControlsStayInRange) {
  const MoodControls c = blend_mood({{"super super wild", 1}});
  EXPECT_LE(c.energy_class, 4.0f);
  EXPECT_LE(c.density_class, 5.0f);
  EXPECT_GE(c.brightness, 0.0f);
}

}  // namespace
}  // namespace jamd

namespace jamd {
namespace {

TEST(MoodLexicon, DocsListEveryWord) {
  std::ifstream in(std::string(JAMD_SOURCE_DIR) + "/docs/mood-lexicon.md");
  ASSERT_TRUE(in) << "docs/mood-lexicon.md is missing";
  std::stringstream doc;
  doc << in.rdbuf();
  for (const std::string& word : mood_words()) {
    const bool listed = doc.str().find("| " + word + " |") != std::string::npos ||
                        doc.str().find("`" + word + "`") != std::string::npos;
    EXPECT_TRUE(listed) << word << " is not documented in docs/mood-lexicon.md";
  }
}

}  // namespace
}  // namespace jamd
