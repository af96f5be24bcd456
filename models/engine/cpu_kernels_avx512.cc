// AVX-512 kernels for the CPU backend. Attention: a key block (kKeyBlock = 16 positions) is one
// zmm vector, and four query heads with 32-wide heads fit 8 accumulators, so a grouped-query
// group reads each key block and each value row once, with half the instructions of AVX2.
// Products of several rows (prefill, batched decode): a panel (16 outputs) is one zmm vector.
#include <immintrin.h>

#include <algorithm>

#include "models/engine/cpu_attention_scores_avx512.h"
#include "models/engine/cpu_kernels.h"

namespace jamd::models::cpu {
namespace {

#define JAMD_AVX512 JAMD_AVX512_TARGET

// The float32 KV cache: a key block is loaded as it is.
struct FloatKeys {
  using Key = float;
  JAMD_AVX512 static __m512 load16(const float* k) { return _mm512_loadu_ps(k); }
};

// kHeads query heads over the value rows; kChunks = head_dim / 16 is known at compile time so
// the kHeads * kChunks accumulators stay in registers.
template <int kHeads, int kChunks>
JAMD_AVX512 void mix_heads(const float* p, int64_t p_stride, const float* v, int64_t n_keys,
                           float* out) {
  constexpr int64_t kHeadDim = 16 * kChunks;
  __m512 acc[kHeads][kChunks];
#pragma GCC unroll 4
  for (int h = 0; h < kHeads; ++h) {
#pragma GCC unroll 4
    for (int c = 0; c < kChunks; ++c) acc[h][c] = _mm512_loadu_ps(out + h * kHeadDim + 16 * c);
  }
  for (int64_t t = 0; t < n_keys; ++t) {
    const float* vt = v + t * kHeadDim;
    __m512 vc[kChunks];
#pragma GCC unroll 4
    for (int c = 0; c < kChunks; ++c) vc[c] = _mm512_loadu_ps(vt + 16 * c);
#pragma GCC unroll 4
    for (int h = 0; h < kHeads; ++h) {
      const __m512 w = _mm512_set1_ps(p[h * p_stride + t]);
#pragma GCC unroll 4
      for (int c = 0; c < kChunks; ++c) acc[h][c] = _mm512_fmadd_ps(w, vc[c], acc[h][c]);
    }
  }
#pragma GCC unroll 4
  for (int h = 0; h < kHeads; ++h) {
#pragma GCC unroll 4
    for (int c = 0; c < kChunks; ++c) _mm512_storeu_ps(out + h * kHeadDim + 16 * c, acc[h][c]);
  }
}

// Heads in fours (all of a group of four at once), then the remainder.
template <int kChunks>
JAMD_AVX512 void mix_groups(const float* p, int64_t p_stride, int n_q, const float* v,
                            int64_t n_keys, float* out) {
  constexpr int64_t kHeadDim = 16 * kChunks;
  int h = 0;
  for (; h + 4 <= n_q; h += 4) {
    mix_heads<4, kChunks>(p + h * p_stride, p_stride, v, n_keys, out + h * kHeadDim);
  }
  const float* ph = p + h * p_stride;
  float* oh = out + h * kHeadDim;
  switch (n_q - h) {
    case 3:
      return mix_heads<3, kChunks>(ph, p_stride, v, n_keys, oh);
    case 2:
      return mix_heads<2, kChunks>(ph, p_stride, v, n_keys, oh);
    case 1:
      return mix_heads<1, kChunks>(ph, p_stride, v, n_keys, oh);
    default:
      return;
  }
}

// kRows input rows against kPanels panels (16 outputs each, one zmm): kRows * kPanels
// accumulators; per input, kPanels weight loads and kRows broadcasts feed kRows * kPanels FMAs.
template <int kRows, int kPanels>
JAMD_AVX512 void panel_tile(const float* x, int64_t in, const float* panels, int64_t out_left,
                            float* y, int64_t y_stride) {
  __m512 acc[kRows][kPanels];
#pragma GCC unroll 6
  for (int r = 0; r < kRows; ++r) {
#pragma GCC unroll 2
    for (int p = 0; p < kPanels; ++p) acc[r][p] = _mm512_setzero_ps();
  }
  const int64_t panel_floats = in * kPanelOutputs;
  for (int64_t i = 0; i < in; ++i) {
    __m512 w[kPanels];
#pragma GCC unroll 2
    for (int p = 0; p < kPanels; ++p) w[p] = _mm512_loadu_ps(panels + p * panel_floats + i * 16);
#pragma GCC unroll 6
    for (int r = 0; r < kRows; ++r) {
      const __m512 xr = _mm512_set1_ps(x[r * in + i]);
#pragma GCC unroll 2
      for (int p = 0; p < kPanels; ++p) acc[r][p] = _mm512_fmadd_ps(xr, w[p], acc[r][p]);
    }
  }
#pragma GCC unroll 2
  for (int p = 0; p < kPanels; ++p) {
    const int64_t n_out = std::min<int64_t>(kPanelOutputs, out_left - p * kPanelOutputs);
    const __mmask16 m = n_out >= 16 ? __mmask16{0xffff} : static_cast<__mmask16>((1u << n_out) - 1);
#pragma GCC unroll 6
    for (int r = 0; r < kRows; ++r) _mm512_mask_storeu_ps(y + r * y_stride + p * 16, m, acc[r][p]);
  }
}

template <int kPanels>
JAMD_AVX512 void panel_rows(const float* x, int64_t n_rows, int64_t in, const float* panels,
                            int64_t out_left, float* y, int64_t y_stride) {
  int64_t r = 0;
  for (; r + 6 <= n_rows; r += 6) {
    panel_tile<6, kPanels>(x + r * in, in, panels, out_left, y + r * y_stride, y_stride);
  }
  const float* xr = x + r * in;
  float* yr = y + r * y_stride;
  switch (n_rows - r) {
    case 5:
      return panel_tile<5, kPanels>(xr, in, panels, out_left, yr, y_stride);
    case 4:
      return panel_tile<4, kPanels>(xr, in, panels, out_left, yr, y_stride);
    case 3:
      return panel_tile<3, kPanels>(xr, in, panels, out_left, yr, y_stride);
    case 2:
      return panel_tile<2, kPanels>(xr, in, panels, out_left, yr, y_stride);
    case 1:
      return panel_tile<1, kPanels>(xr, in, panels, out_left, yr, y_stride);
    default:
      return;
  }
}

#undef JAMD_AVX512

}  // namespace

void matmul_packed_avx512(const float* x, int64_t n_rows, int64_t in, const float* packed,
                          int64_t out, int64_t p_begin, int64_t p_end, int64_t y_stride, float* y) {
  // One row (a one-jam decode step) is memory-bound: the AVX2 kernel keeps up with the memory.
  if (n_rows == 1)
    return matmul_packed_avx2(x, n_rows, in, packed, out, p_begin, p_end, y_stride, y);
  int64_t p = p_begin;
  for (; p + 2 <= p_end; p += 2) {
    const int64_t o = p * kPanelOutputs;
    panel_rows<2>(x, n_rows, in, packed + o * in, out - o, y + o, y_stride);
  }
  if (p < p_end) {
    const int64_t o = p * kPanelOutputs;
    panel_rows<1>(x, n_rows, in, packed + o * in, out - o, y + o, y_stride);
  }
}

void attention_scores_avx512(const float* q, int n_q, int64_t head_dim, const float* k_blocks,
                             int64_t n_blocks, float scale, float* out, int64_t out_stride) {
  avx512::attention_scores<FloatKeys>(q, n_q, head_dim, k_blocks, n_blocks, scale, out, out_stride);
}

bool attention_mix_avx512(const float* p, int64_t p_stride, int n_q, const float* v, int64_t n_keys,
                          int64_t head_dim, float* out) {
  switch (head_dim) {
    case 16:
      mix_groups<1>(p, p_stride, n_q, v, n_keys, out);
      return true;
    case 32:
      mix_groups<2>(p, p_stride, n_q, v, n_keys, out);
      return true;
    case 64:
      mix_groups<4>(p, p_stride, n_q, v, n_keys, out);
      return true;
    default:
      return false;
  }
}

}  // namespace jamd::models::cpu
