// The grammar: random walks under its mask always decode; disabled parts stay empty; forced
// controls and chords come out as forced; it accepts what the encoder writes.
#include <random>

#include "gtest/gtest.h"
#include "models/tokenizer/grammar.h"
#include "models/tokenizer/tokenizer.h"

namespace jamd::models {
namespace {

// Samples uniformly among the allowed tokens until `n_bars` bars are complete (or End).
std::vector<TokenId> random_walk(Grammar* grammar, int n_bars, uint32_t seed) {
  const Vocabulary& v = Vocabulary::get();
  std::mt19937 rng(seed);
  TokenMask mask(v.size());
  std::vector<TokenId> tokens;
  std::vector<TokenId> allowed;
  while (true) {
    grammar->allowed(&mask);
    allowed.clear();
    for (TokenId id = 0; id < v.size(); ++id) {
      if (mask.test(id)) allowed.push_back(id);
    }
    if (allowed.empty()) break;
    TokenId next = allowed[std::uniform_int_distribution<size_t>(0, allowed.size() - 1)(rng)];
    // Keep walks long: End only once enough bars are done, and Bar ends the walk there.
    if (next == v.end() && grammar->bars_started() < n_bars && allowed.size() > 1) continue;
    if (next == v.bar() && grammar->bars_started() == n_bars) break;
    EXPECT_TRUE(grammar->advance(next).ok());
    tokens.push_back(next);
  }
  return tokens;
}

TEST(Grammar, RandomWalksAlwaysDecode) {
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    Grammar grammar;
    const std::vector<TokenId> tokens = random_walk(&grammar, 4, seed);
    absl::StatusOr<Score> score = decode(tokens);
    ASSERT_TRUE(score.ok()) << "seed " << seed << ": " << score.status() << "\n"
                            << tokens_to_string(tokens);
    EXPECT_GE(score->bars.size(), 1u);
  }
}

TEST(Grammar, DisabledPartsNeverGetNotes) {
  GrammarConstraints c;
  c.part_enabled = {false, true, false, true, false, false};  // bass and pad only
  int notes = 0;
  for (uint32_t seed = 1; seed <= 100; ++seed) {
    Grammar grammar(c);
    absl::StatusOr<Score> score = decode(random_walk(&grammar, 3, seed));
    ASSERT_TRUE(score.ok()) << score.status();
    for (const Note& n : score->notes) {
      EXPECT_TRUE(n.role == Role::kBass || n.role == Role::kPad) << role_name(n.role);
      ++notes;
    }
    for (const BarInfo& bar : score->bars) {
      EXPECT_EQ(bar.controls.density_class[static_cast<int>(Role::kDrums)], 0);
    }
  }
  EXPECT_GT(notes, 0) << "the enabled parts should get notes in 100 walks";
}

TEST(Grammar, ForcedControlsAndChordsComeOutAsForced) {
  GrammarConstraints c;
  c.meter = meter_index({3, 4});
  c.tempo_class = 11;
  c.density_class = {kFree, 4, kFree, kAnyClass, kFree};
  c.energy_class = 3;
  c.key = 7;
  c.chords = std::vector<ForcedChord>{{0, 7, ChordQuality::kMaj},
                                      {24, 2, ChordQuality::kDom7},
                                      {60, 0, ChordQuality::kMaj}};  // past a 3/4 bar: dropped
  for (uint32_t seed = 1; seed <= 50; ++seed) {
    Grammar grammar(c);
    absl::StatusOr<Score> score = decode(random_walk(&grammar, 2, seed));
    ASSERT_TRUE(score.ok()) << score.status();
    for (const BarInfo& bar : score->bars) {
      EXPECT_EQ(bar.time_signature, (TimeSignature{3, 4}));
      EXPECT_EQ(tempo_class(bar.tempo_bpm), 11);
      EXPECT_EQ(bar.controls.density_class[1], 4);
      EXPECT_EQ(bar.controls.density_class[3], kAnyClass);
      EXPECT_EQ(bar.controls.energy_class, 3);
      EXPECT_EQ(bar.controls.key, 7);
    }
    ASSERT_GE(score->chords.size(), 2u);
    EXPECT_EQ(chord_name(score->chords[0]), "G:maj");
    EXPECT_EQ(score->chords[0].start_ticks, 0);
    EXPECT_EQ(chord_name(score->chords[1]), "D:7");
    EXPECT_EQ(score->chords[1].start_ticks, 24);
  }
}

TEST(Grammar, RefusesATokenOutOfPlaceAndKeepsItsState) {
  const Vocabulary& v = Vocabulary::get();
  Grammar grammar;
  ASSERT_TRUE(grammar.advance(v.bar()).ok());
  const absl::Status s = grammar.advance(v.pitch(60));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("Meter_"), std::string::npos) << s;
  EXPECT_EQ(grammar.phase(), Grammar::Phase::kMeter);
}

TEST(Grammar, MaskAndAllowsAgree) {
  const Vocabulary& v = Vocabulary::get();
  Grammar grammar;
  TokenMask mask(v.size());
  std::mt19937 rng(7);
  for (int step = 0; step < 300; ++step) {
    grammar.allowed(&mask);
    std::vector<TokenId> allowed;
    for (TokenId id = 0; id < v.size(); ++id) {
      ASSERT_EQ(mask.test(id), grammar.allows(id)) << v.name(id);
      if (mask.test(id) && id != v.end()) allowed.push_back(id);
    }
    ASSERT_FALSE(allowed.empty());
    ASSERT_TRUE(grammar.advance(allowed[rng() % allowed.size()]).ok());
  }
}

TEST(Grammar, PitchesAtOnePositionAscend) {
  const Vocabulary& v = Vocabulary::get();
  Grammar grammar;
  for (TokenId t : {v.bar(), v.meter(2), v.tempo(10), v.density(0, 1), v.density(1, 1),
                    v.density(2, 1), v.density(3, 1), v.density(4, 1), v.energy(1), v.valence(1),
                    v.style(0), v.key(0), v.no_chord(), v.part(Role::kDrums), v.part(Role::kBass),
                    v.position(0), v.pitch(40), v.velocity(5), v.duration(3)}) {
    ASSERT_TRUE(grammar.advance(t).ok()) << v.name(t);
  }
  EXPECT_FALSE(grammar.allows(v.pitch(40)));
  EXPECT_FALSE(grammar.allows(v.pitch(12)));
  EXPECT_TRUE(grammar.allows(v.pitch(41)));
  EXPECT_FALSE(grammar.allows(v.position(0)));
  EXPECT_TRUE(grammar.allows(v.position(1)));
  EXPECT_TRUE(grammar.allows(v.part(Role::kKeys)));
}

}  // namespace
}  // namespace jamd::models
