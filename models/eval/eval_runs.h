// The two halves of jamd-eval: next-token NLL of the engine against a bigram baseline, and
// generation conditioned on real test bars (their controls, chords and human part) measured with
// music_metrics.h against the real data.
//
//   Bigram bigram = fit_bigram(train_tokens);
//   NllResult nll = evaluate_nll(backend, test_tokens, bigram, {.n_sequences = 32});
//   GenerationReport gen = evaluate_generation(backend, test_tokens, options);
//   LogitDiff d = compare_logits(fp32_backend, bf16_backend, test_tokens, {.n_sequences = 8});
//
// Thread safety: the functions use the backend from the calling thread only.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "models/engine/backend.h"
#include "models/eval/music_metrics.h"
#include "models/generate/band_generator.h"

namespace jamd::models::eval {

// Add-0.1 bigram over the vocabulary (the baseline of models/train/train.py).
struct Bigram {
  int32_t n_vocab = 0;
  std::vector<float> log_prob;  // [previous * n_vocab + next]
};
Bigram fit_bigram(std::span<const uint16_t> tokens, int32_t n_vocab);

struct NllOptions {
  int n_sequences = 32;   // songs, spread evenly over the split
  int max_tokens = 1024;  // from the start of each song
};
struct NllResult {
  int64_t n_predictions = 0;
  double model_nats = 0;   // mean per predicted token
  double bigram_nats = 0;  // same positions
  double seconds = 0;
};
absl::StatusOr<NllResult> evaluate_nll(Backend& backend, std::span<const uint16_t> split,
                                       const Bigram& bigram, const NllOptions& options);

// How far two backends' logits are apart on the same real tokens (what bf16, kReduced, costs
// against float32): the first max_tokens tokens of n_sequences songs, batched in both.
struct LogitDiff {
  int64_t n_positions = 0;
  double max_abs = 0;        // largest |a - b| over every logit of every position
  double mean_abs = 0;       // over every logit
  double max_logit = 0;      // largest |a|: the scale max_abs is read against
  int64_t argmax_agree = 0;  // positions where both rank the same token first
};
absl::StatusOr<LogitDiff> compare_logits(Backend& a, Backend& b, std::span<const uint16_t> split,
                                         const NllOptions& options);

struct GenerationOptions {
  int n_jams = 96;  // three in four condition on POP909 songs, the rest on Groove drums
  int n_bars = 8;
  uint64_t seed = 1;
  SamplingParams sampling = {.temperature = 1.0f, .top_k = 0, .top_p = 0.95f};
  float drums_top_p = BandControls{}.drums_top_p;  // the generator's default
  PitchBias bias;
};

// Per-metric values of many segments; the real data's quartiles are the targets' ranges.
struct Distribution {
  std::vector<double> values;
  double quantile(double q) const;
};

struct GenerationReport {
  int64_t bars = 0, bars_decoded = 0;
  int64_t density_checks = 0, density_within_one = 0;
  int64_t disabled_part_bars = 0, disabled_part_bars_silent = 0;
  // Bars of jams on POP909 songs with drums (drums beside chords and pitched parts, in one
  // stream) where the real bar has drums, and how many of them the model gave drum notes.
  int64_t band_drum_bars = 0, band_drum_bars_playing = 0;
  NoteShare generated_in_key, real_in_key;
  NoteShare generated_chord_tones, real_chord_tones_segments, real_chord_tones_split;
  // Pitch-class entropy, scale, groove, empty beats. `generated` holds the jams that play the
  // real segment's parts, the like-for-like comparison with the real segments; jams given one
  // part fewer to test the part mask go to `generated_part_removed` (fewer parts: fewer pitch
  // classes), reported beside it.
  Distribution real[4], generated[4], generated_part_removed[4];
  int64_t tokens = 0;
  double seconds = 0;
};
inline constexpr const char* kDescriptorNames[4] = {"pitch-class entropy", "scale consistency",
                                                    "groove consistency", "empty-beat rate"};

absl::StatusOr<GenerationReport> evaluate_generation(Backend& backend,
                                                     std::span<const uint16_t> test_split,
                                                     const GenerationOptions& options);

}  // namespace jamd::models::eval
