// compare_logits, what jamd-eval reports for bf16: a backend against an identical one differs by
// nothing; float32 against bf16 (kReduced) on the bundled model differs, but by little and rarely
// in the top token.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "models/engine/backend_registry.h"
#include "models/engine/weight_file.h"
#include "models/eval/eval_runs.h"
#include "models/generate/band_generator.h"

namespace jamd::models::eval {
namespace {

std::unique_ptr<Backend> cpu(std::shared_ptr<const WeightFile> weights, Precision precision) {
  BackendOptions options;
  options.max_streams = 4;
  options.precision = precision;
  auto choice = create_backend(BackendKind::kCpu, std::move(weights), options);
  EXPECT_TRUE(choice.ok()) << choice.status();
  return std::move(choice->backend);
}

// Two generated songs of two bars each, the real tokens a jam produces.
std::vector<uint16_t> two_songs(Backend& backend) {
  std::vector<uint16_t> tokens;
  for (uint64_t seed : {1, 2}) {
    auto band = BandGenerator::create(backend, {.seed = seed, .bias = {}});
    EXPECT_TRUE(band.ok()) << band.status();
    (*band)->request_bars(2);
    GenerationBatch batch(backend.config().n_vocab);
    BandGenerator* jams[] = {band->get()};
    EXPECT_TRUE(generate_until_done(jams, batch).ok());
    tokens.insert(tokens.end(), (*band)->tokens().begin(), (*band)->tokens().end());
  }
  return tokens;
}

TEST(CompareLogits, SameArithmeticGivesNoDifferenceAndBf16ASmallOne) {
  auto weights = WeightFile::open(JAMD_SOURCE_DIR "/models/band.jamd");
  ASSERT_TRUE(weights.ok()) << weights.status();
  auto float32 = cpu(*weights, Precision::kFloat32);
  auto twin = cpu(*weights, Precision::kFloat32);
  auto bf16 = cpu(*weights, Precision::kReduced);
  const std::vector<uint16_t> tokens = two_songs(*float32);
  const NllOptions options{.n_sequences = 2, .max_tokens = 400};

  auto same = compare_logits(*float32, *twin, tokens, options);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_GT(same->n_positions, 100);
  EXPECT_EQ(same->max_abs, 0.0);
  EXPECT_EQ(same->argmax_agree, same->n_positions);
  EXPECT_GT(same->max_logit, 1.0);

  if (bf16->caps().precision != Precision::kReduced) GTEST_SKIP() << "no bfloat16 on this CPU";
  auto reduced = compare_logits(*float32, *bf16, tokens, options);
  ASSERT_TRUE(reduced.ok()) << reduced.status();
  EXPECT_EQ(reduced->n_positions, same->n_positions);
  EXPECT_GT(reduced->max_abs, 0.0) << "bf16 rounds: some logit must move";
  EXPECT_LT(reduced->max_abs, 0.05 * reduced->max_logit);
  EXPECT_GT(reduced->mean_abs, 0.0);
  EXPECT_GE(reduced->argmax_agree, reduced->n_positions * 95 / 100);
}

}  // namespace
}  // namespace jamd::models::eval
