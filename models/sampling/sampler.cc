// Token sampling: mask and bias, then greedy or temperature / top-k / top-p with a seeded
// xoshiro256** generator, in an order that does not depend on the standard library.
#include "models/sampling/sampler.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace jamd::models {

SampleRng::SampleRng(uint64_t seed) {
  // splitmix64 spreads any seed (0 included) over the four words of state.
  for (uint64_t& word : s_) {
    seed += 0x9e3779b97f4a7c15ull;
    uint64_t z = seed;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    word = z ^ (z >> 31);
  }
}

uint64_t SampleRng::next() {
  const uint64_t result = std::rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = std::rotl(s_[3], 45);
  return result;
}

double SampleRng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

Sampler::Sampler(int32_t n_vocab) : n_vocab_(n_vocab) {
  candidates_.reserve(static_cast<size_t>(n_vocab));
  probs_.reserve(static_cast<size_t>(n_vocab));
}

absl::StatusOr<int32_t> Sampler::sample(std::span<const float> logits, const SamplingParams& params,
                                        const TokenMask* mask, std::span<const float> bias,
                                        SampleRng& rng) {
  const auto n = static_cast<size_t>(n_vocab_);
  if (logits.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("sample: ", logits.size(), " logits for a vocabulary of ", n_vocab_));
  }
  if (!bias.empty() && bias.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("sample: ", bias.size(), " bias values for a vocabulary of ", n_vocab_));
  }
  if (mask != nullptr && mask->size() != n_vocab_) {
    return absl::InvalidArgumentError(
        absl::StrCat("sample: a mask of ", mask->size(), " tokens for a vocabulary of ", n_vocab_));
  }
  candidates_.clear();
  for (int32_t t = 0; t < n_vocab_; ++t) {
    if (mask != nullptr && !mask->test(t)) continue;
    const float score =
        logits[static_cast<size_t>(t)] + (bias.empty() ? 0.0f : bias[static_cast<size_t>(t)]);
    // NaN and -inf scores can never be drawn.
    if (!(score > -std::numeric_limits<float>::infinity())) continue;
    candidates_.emplace_back(score, t);
  }
  if (candidates_.empty()) {
    return absl::FailedPreconditionError(
        "sample: the token mask allows no token the model can produce; check the grammar and "
        "part masks");
  }
  // Most likely first; equal scores in token order, so the result never depends on the sort.
  auto better = [](const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  if (!(params.temperature > 0.0f)) {
    return std::min_element(candidates_.begin(), candidates_.end(), better)->second;
  }
  size_t keep = candidates_.size();
  if (params.top_k > 0) keep = std::min(keep, static_cast<size_t>(params.top_k));
  std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<ptrdiff_t>(keep),
                    candidates_.end(), better);
  const double inv_temperature = 1.0 / static_cast<double>(params.temperature);
  const double top = candidates_[0].first;
  probs_.clear();
  double total = 0.0;
  for (size_t i = 0; i < keep; ++i) {
    const double p = std::exp((candidates_[i].first - top) * inv_temperature);
    probs_.push_back(p);
    total += p;
  }
  if (params.top_p < 1.0f) {
    // The smallest prefix whose mass reaches top_p (always at least the best token).
    const double target = static_cast<double>(params.top_p) * total;
    double mass = 0.0;
    size_t prefix = 0;
    while (prefix < keep) {
      mass += probs_[prefix++];
      if (mass >= target) break;
    }
    keep = prefix;
    total = mass;
  }
  double u = rng.uniform() * total;
  for (size_t i = 0; i < keep; ++i) {
    u -= probs_[i];
    if (u < 0.0) return candidates_[i].second;
  }
  return candidates_[keep - 1].second;  // rounding left u a hair above the last mass
}

}  // namespace jamd::models
