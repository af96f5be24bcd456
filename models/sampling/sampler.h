// Choosing the next token from the model's logits: temperature, top-k, top-p, an allowed-token
// mask (grammar, enabled parts), an additive bias (key, chord), and a seeded generator per jam
// so the same seed and the same steering give the same music on every machine.
//
//   Sampler sampler(n_vocab);                       // one per conductor thread; reused
//   SampleRng rng(jam_seed);                        // one per jam
//   TokenMask mask(n_vocab);                        // nothing allowed yet
//   mask.set(pitch_token);                          // e.g. grammar.allowed(&mask), part masks
//   SamplingParams params{.temperature = 0.9f, .top_k = 40, .top_p = 0.95f};
//   absl::StatusOr<int32_t> token = sampler.sample(logits, params, &mask, key_bias, rng);
//
// Thread safety: a Sampler holds scratch space and a SampleRng its state: each belongs to one
// thread at a time. TokenMask is a plain value.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "models/tokenizer/grammar.h"

namespace jamd::models {

struct SamplingParams {
  // Divides the logits; <= 0 picks the most likely allowed token (greedy).
  float temperature = 1.0f;
  // Keeps the k most likely tokens; 0 keeps all.
  int32_t top_k = 0;
  // Keeps the smallest set of most likely tokens whose probability reaches top_p; 1 keeps all.
  float top_p = 1.0f;
};

// The allowed-token mask is the grammar's TokenMask (models/tokenizer/grammar.h).

// xoshiro256** seeded through splitmix64: a small explicit generator whose output is the same on
// every platform and standard library (std:: distributions are not).
class SampleRng {
 public:
  explicit SampleRng(uint64_t seed);
  uint64_t next();
  // Uniform in [0, 1) with 53 random bits.
  double uniform();

 private:
  uint64_t s_[4];
};

class Sampler {
 public:
  explicit Sampler(int32_t n_vocab);

  // Draws one token. mask may be null (all allowed); bias may be empty or hold n_vocab values
  // added to the logits before the temperature. INVALID_ARGUMENT on size mismatches,
  // FAILED_PRECONDITION when the mask (with -inf logits) leaves nothing to draw.
  absl::StatusOr<int32_t> sample(std::span<const float> logits, const SamplingParams& params,
                                 const TokenMask* mask, std::span<const float> bias,
                                 SampleRng& rng);

 private:
  int32_t n_vocab_;
  std::vector<std::pair<float, int32_t>> candidates_;  // (score, token), preallocated
  std::vector<double> probs_;
};

}  // namespace jamd::models
