// The shape of the band model: the numbers a weight file carries and every backend obeys.
#pragma once

#include <cstdint>

namespace jamd::models {

// A decoder-only transformer: token embedding, n_layers pre-norm blocks (RMSNorm, grouped-query
// attention with rotary positions over a sliding window, RMSNorm, SwiGLU feed-forward), a final
// RMSNorm and an output projection to the vocabulary. Matches models/train/model.py exactly.
struct ModelConfig {
  int32_t n_vocab = 0;
  int32_t d_model = 0;
  int32_t n_layers = 0;
  int32_t n_heads = 0;     // query heads
  int32_t n_kv_heads = 0;  // key/value heads (grouped-query attention); divides n_heads
  int32_t d_ff = 0;        // hidden width of the SwiGLU feed-forward
  // Each query attends to at most this many tokens: itself and the attention_window - 1 before
  // it. Training uses the same sliding window, so a jam that runs for hours sees exactly what
  // training saw once it is past the first window (docs/model-format.md, "Positions").
  int32_t attention_window = 0;
  float rope_theta = 10000.0f;
  float norm_eps = 1e-5f;
  bool tied_output = false;  // output projection shares the token embedding
  // Trained on sequences with drums beside the pitched parts in every bar (jamd-prepare's drum
  // pairing), so one stream plays the whole band. Older models learnt drums only from drums-only
  // songs and leave the drum block empty beside chords: callers then run drums as a second
  // stream (jamd generate). Says nothing about the computation.
  bool full_band = false;

  int32_t head_dim() const { return d_model / n_heads; }
  int32_t kv_dim() const { return n_kv_heads * head_dim(); }
  // Parameters in the weight file (for reports and memory estimates).
  int64_t n_params() const {
    const int64_t d = d_model, kv = kv_dim(), ff = d_ff, v = n_vocab;
    const int64_t per_layer = 2 * d + d * d + 2 * kv * d + d * d + 3 * ff * d;
    return v * d + n_layers * per_layer + d + (tied_output ? 0 : v * d);
  }
};

}  // namespace jamd::models
