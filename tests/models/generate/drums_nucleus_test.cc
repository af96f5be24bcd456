// BandControls::drums_top_p on the bundled model: it is the nucleus of the drum block, and
// sampling.top_p is not (the drummer's less likely onsets are kept while the pitched parts keep
// their nucleus; docs/generation.md).
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <vector>

#include "models/engine/backend_registry.h"
#include "models/engine/weight_file.h"
#include "models/generate/band_generator.h"

namespace jamd::models {
namespace {

// Far below any token's probability: the nucleus keeps only the most likely token.
constexpr float kOnlyTheBest = 1e-6f;

std::unique_ptr<Backend> cpu_backend() {
  auto weights = WeightFile::open(JAMD_SOURCE_DIR "/models/band.jamd");
  EXPECT_TRUE(weights.ok()) << weights.status();
  BackendOptions options;
  options.max_streams = 4;
  auto choice = create_backend(BackendKind::kCpu, *weights, options);
  EXPECT_TRUE(choice.ok()) << choice.status();
  return std::move(choice->backend);
}

// Every control forced and the chord given, so that nothing is drawn before the drum block:
// whatever differs between seeds there was drawn inside it.
BandControls everything_forced(float top_p, float drums_top_p) {
  BandControls c;
  c.tempo_bpm = 100;
  c.key = 0;
  c.density_class = {4, 3, 3, 0, 0};
  c.part_enabled = {true, true, true, false, false};
  c.energy_class = 2;
  c.valence_class = 1;
  c.style = 10;  // pop
  c.sampling = {.temperature = 1.0f, .top_k = 0, .top_p = top_p};
  c.drums_top_p = drums_top_p;
  return c;
}

// The first bar's drum block (its tokens after the Part_drums marker) for each seed.
std::set<std::vector<TokenId>> drum_blocks(const BandControls& c) {
  auto backend = cpu_backend();
  const Vocabulary& v = Vocabulary::get();
  std::set<std::vector<TokenId>> blocks;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    auto g = BandGenerator::create(*backend, {.seed = seed, .bias = {}});
    EXPECT_TRUE(g.ok()) << g.status();
    (*g)->set_controls(c);
    (*g)->force_chords(0, {{0, 0, ChordQuality::kMaj}});
    (*g)->request_bars(1);
    GenerationBatch batch(backend->config().n_vocab);
    BandGenerator* jams[] = {g->get()};
    EXPECT_TRUE(generate_until_done(jams, batch).ok());
    std::vector<TokenId> block;
    bool in_drums = false;
    for (const TokenId t : (*g)->tokens()) {
      const TokenInfo& info = v.info(t);
      if (info.kind == TokenKind::kPart) {
        in_drums = info.role == static_cast<int>(Role::kDrums);
      } else if (in_drums) {
        block.push_back(t);
      }
    }
    EXPECT_FALSE(block.empty()) << "seed " << seed << ": the forced drums played nothing";
    blocks.insert(block);
  }
  return blocks;
}

TEST(DrumsNucleus, DrumsTopPGovernsTheDrumBlock) {
  // Free pitched parts, drums cut to their best token: every seed plays the same drums.
  EXPECT_EQ(drum_blocks(everything_forced(1.0f, kOnlyTheBest)).size(), 1u);
}

TEST(DrumsNucleus, TheSharedTopPDoesNotReachTheDrums) {
  // The pitched parts cut to their best token, the drums free: the seeds play other drums.
  EXPECT_GT(drum_blocks(everything_forced(kOnlyTheBest, 1.0f)).size(), 1u);
}

}  // namespace
}  // namespace jamd::models
