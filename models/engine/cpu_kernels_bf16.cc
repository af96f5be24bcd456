// Reduced precision for the CPU backend: matrix products on bfloat16 weights and activations
// with float32 sums (AVX512-BF16 vdpbf16ps), and attention over a bfloat16 KV cache.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "models/engine/cpu_attention_scores_avx512.h"
#include "models/engine/cpu_kernels.h"

namespace jamd::models::cpu {
namespace {

#define JAMD_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")))

// Round to nearest even, NaN kept a (quiet) NaN.
void to_bf16_scalar(const float* x, int64_t n, uint16_t* out) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &x[i], sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) {
      out[i] = static_cast<uint16_t>((bits >> 16) | 0x40u);  // NaN stays NaN
      continue;
    }
    bits += 0x7fffu + ((bits >> 16) & 1u);
    out[i] = static_cast<uint16_t>(bits >> 16);
  }
}

// The bfloat16 pair of inputs k, broadcast to every lane.
JAMD_BF16 inline __m512bh input_pair(const uint16_t* x, int64_t k) {
  int32_t v;
  std::memcpy(&v, x + 2 * k, sizeof v);
  return (__m512bh)_mm512_set1_epi32(v);
}

JAMD_BF16 inline __m512bh weight_pairs(const uint16_t* panel, int64_t k) {
  return (__m512bh)_mm512_loadu_si512(panel + k * 2 * kPanelOutputs);
}

// Panels of bfloat16 weights (pack_panels_bf16): per input pair, 16 outputs x 2 inputs in one
// zmm, so vdpbf16ps against the broadcast input pair adds both products to each output's sum.
// kRows input rows x kPanels panels in registers, as the float32 AVX-512 kernel.
template <int kRows, int kPanels>
JAMD_BF16 void panel_tile_bf16(const uint16_t* x, int64_t in_pairs, const uint16_t* panels,
                               int64_t out_left, float* y, int64_t y_stride) {
  __m512 acc[kRows][kPanels];
#pragma GCC unroll 6
  for (int r = 0; r < kRows; ++r) {
#pragma GCC unroll 2
    for (int p = 0; p < kPanels; ++p) acc[r][p] = _mm512_setzero_ps();
  }
  const int64_t panel_elements = in_pairs * 2 * kPanelOutputs;
  for (int64_t k = 0; k < in_pairs; ++k) {
    __m512bh w[kPanels];
#pragma GCC unroll 2
    for (int p = 0; p < kPanels; ++p) w[p] = weight_pairs(panels + p * panel_elements, k);
#pragma GCC unroll 6
    for (int r = 0; r < kRows; ++r) {
      const __m512bh xr = input_pair(x + r * 2 * in_pairs, k);
#pragma GCC unroll 2
      for (int p = 0; p < kPanels; ++p) acc[r][p] = _mm512_dpbf16_ps(acc[r][p], w[p], xr);
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

// One input row (a one-jam decode step): the panel read front to back, sums split over 4
// interleaved input pairs to hide the latency.
JAMD_BF16 void panel_row_bf16(const uint16_t* x, int64_t in_pairs, const uint16_t* panel,
                              int64_t out_left, float* y) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t k = 0;
  for (; k + 4 <= in_pairs; k += 4) {
    a0 = _mm512_dpbf16_ps(a0, weight_pairs(panel, k), input_pair(x, k));
    a1 = _mm512_dpbf16_ps(a1, weight_pairs(panel, k + 1), input_pair(x, k + 1));
    a2 = _mm512_dpbf16_ps(a2, weight_pairs(panel, k + 2), input_pair(x, k + 2));
    a3 = _mm512_dpbf16_ps(a3, weight_pairs(panel, k + 3), input_pair(x, k + 3));
  }
  for (; k < in_pairs; ++k) a0 = _mm512_dpbf16_ps(a0, weight_pairs(panel, k), input_pair(x, k));
  const __m512 sum = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
  const int64_t n_out = std::min<int64_t>(kPanelOutputs, out_left);
  const __mmask16 m = n_out >= 16 ? __mmask16{0xffff} : static_cast<__mmask16>((1u << n_out) - 1);
  _mm512_mask_storeu_ps(y, m, sum);
}

template <int kPanels>
JAMD_BF16 void panel_rows_bf16(const uint16_t* x, int64_t n_rows, int64_t in_pairs,
                               const uint16_t* panels, int64_t out_left, float* y,
                               int64_t y_stride) {
  int64_t r = 0;
  const int64_t row = 2 * in_pairs;
  for (; r + 6 <= n_rows; r += 6) {
    panel_tile_bf16<6, kPanels>(x + r * row, in_pairs, panels, out_left, y + r * y_stride,
                                y_stride);
  }
  const uint16_t* xr = x + r * row;
  float* yr = y + r * y_stride;
  switch (n_rows - r) {
    case 5:
      return panel_tile_bf16<5, kPanels>(xr, in_pairs, panels, out_left, yr, y_stride);
    case 4:
      return panel_tile_bf16<4, kPanels>(xr, in_pairs, panels, out_left, yr, y_stride);
    case 3:
      return panel_tile_bf16<3, kPanels>(xr, in_pairs, panels, out_left, yr, y_stride);
    case 2:
      return panel_tile_bf16<2, kPanels>(xr, in_pairs, panels, out_left, yr, y_stride);
    case 1:
      return panel_tile_bf16<1, kPanels>(xr, in_pairs, panels, out_left, yr, y_stride);
    default:
      return;
  }
}

JAMD_BF16 void matmul_packed_bf16_impl(const uint16_t* x, int64_t n_rows, int64_t in,
                                       const uint16_t* packed, int64_t out, int64_t p_begin,
                                       int64_t p_end, int64_t y_stride, float* y) {
  const int64_t in_pairs = (in + 1) / 2, panel_elements = in_pairs * 2 * kPanelOutputs;
  if (n_rows == 1) {
    for (int64_t p = p_begin; p < p_end; ++p) {
      panel_row_bf16(x, in_pairs, packed + p * panel_elements, out - p * kPanelOutputs,
                     y + p * kPanelOutputs);
    }
    return;
  }
  int64_t p = p_begin;
  for (; p + 2 <= p_end; p += 2) {
    panel_rows_bf16<2>(x, n_rows, in_pairs, packed + p * panel_elements, out - p * kPanelOutputs,
                       y + p * kPanelOutputs, y_stride);
  }
  if (p < p_end) {
    panel_rows_bf16<1>(x, n_rows, in_pairs, packed + p * panel_elements, out - p * kPanelOutputs,
                       y + p * kPanelOutputs, y_stride);
  }
}

// 16 bfloat16 values widened to float32: the top half of each float's bits, exactly. AVX512F
// alone, so that it inlines into the shared scores kernel (cpu_attention_scores_avx512.h).
JAMD_AVX512_TARGET inline __m512 load16_bf16(const uint16_t* p) {
  // The zero-masking forms: the unmasked ones start from an undefined vector, which GCC 12
  // reports as maybe-uninitialized.
  const __mmask16 all = 0xffff;
  const __m256i halves = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m512i wide = _mm512_maskz_cvtepu16_epi32(all, halves);
  return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(all, wide, 16));
}

// The bfloat16 KV cache: half the bytes per key, which is what 32 streams' attention waits for.
struct Bf16Keys {
  using Key = uint16_t;
  JAMD_AVX512_TARGET static __m512 load16(const uint16_t* k) { return load16_bf16(k); }
};

// One query head over bfloat16 value rows, head_dim a multiple of 16.
JAMD_BF16 void mix_head_bf16(const float* p, const uint16_t* v, int64_t n_keys, int64_t head_dim,
                             float* out) {
  for (int64_t c = 0; c < head_dim; c += 16) {
    __m512 acc0 = _mm512_loadu_ps(out + c), acc1 = _mm512_setzero_ps();
    int64_t t = 0;
    for (; t + 2 <= n_keys; t += 2) {
      acc0 = _mm512_fmadd_ps(_mm512_set1_ps(p[t]), load16_bf16(v + t * head_dim + c), acc0);
      acc1 =
          _mm512_fmadd_ps(_mm512_set1_ps(p[t + 1]), load16_bf16(v + (t + 1) * head_dim + c), acc1);
    }
    if (t < n_keys)
      acc0 = _mm512_fmadd_ps(_mm512_set1_ps(p[t]), load16_bf16(v + t * head_dim + c), acc0);
    _mm512_storeu_ps(out + c, _mm512_add_ps(acc0, acc1));
  }
}

// Four query heads over bfloat16 value rows of 32: each row widened once for all four.
JAMD_BF16 void mix4_bf16_32(const float* p, int64_t p_stride, const uint16_t* v, int64_t n_keys,
                            float* out) {
  __m512 a0 = _mm512_loadu_ps(out), a1 = _mm512_loadu_ps(out + 16);
  __m512 b0 = _mm512_loadu_ps(out + 32), b1 = _mm512_loadu_ps(out + 48);
  __m512 c0 = _mm512_loadu_ps(out + 64), c1 = _mm512_loadu_ps(out + 80);
  __m512 d0 = _mm512_loadu_ps(out + 96), d1 = _mm512_loadu_ps(out + 112);
  for (int64_t t = 0; t < n_keys; ++t) {
    const __m512 v0 = load16_bf16(v + t * 32), v1 = load16_bf16(v + t * 32 + 16);
    const __m512 pa = _mm512_set1_ps(p[t]), pb = _mm512_set1_ps(p[p_stride + t]);
    const __m512 pc = _mm512_set1_ps(p[2 * p_stride + t]), pd = _mm512_set1_ps(p[3 * p_stride + t]);
    a0 = _mm512_fmadd_ps(pa, v0, a0);
    a1 = _mm512_fmadd_ps(pa, v1, a1);
    b0 = _mm512_fmadd_ps(pb, v0, b0);
    b1 = _mm512_fmadd_ps(pb, v1, b1);
    c0 = _mm512_fmadd_ps(pc, v0, c0);
    c1 = _mm512_fmadd_ps(pc, v1, c1);
    d0 = _mm512_fmadd_ps(pd, v0, d0);
    d1 = _mm512_fmadd_ps(pd, v1, d1);
  }
  _mm512_storeu_ps(out, a0);
  _mm512_storeu_ps(out + 16, a1);
  _mm512_storeu_ps(out + 32, b0);
  _mm512_storeu_ps(out + 48, b1);
  _mm512_storeu_ps(out + 64, c0);
  _mm512_storeu_ps(out + 80, c1);
  _mm512_storeu_ps(out + 96, d0);
  _mm512_storeu_ps(out + 112, d1);
}

// to_bf16's rounding on 16 floats at a time, in integer arithmetic so that it is bit for bit the
// scalar loop's (vcvtneps2bf16 would flush denormals). Activations are rounded before every
// product: the scalar loop was 8 % of a live conductor's time (perf, 32 jams).
JAMD_BF16 void to_bf16_avx512(const float* x, int64_t n, uint16_t* out) {
  const __m512i magnitude = _mm512_set1_epi32(0x7fffffff), infinity = _mm512_set1_epi32(0x7f800000);
  const __m512i half = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1);
  const __m512i quiet = _mm512_set1_epi32(0x400000);
  // The zero-masked forms: GCC 12 takes the plain ones' undefined source for uninitialized.
  constexpr __mmask16 all = 0xffff;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i bits = _mm512_loadu_si512(x + i);
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(bits, magnitude), infinity);
    const __m512i lsb = _mm512_and_si512(_mm512_maskz_srli_epi32(all, bits, 16), one);
    __m512i rounded = _mm512_add_epi32(bits, _mm512_add_epi32(half, lsb));
    rounded = _mm512_mask_mov_epi32(rounded, nan, _mm512_or_si512(bits, quiet));  // NaN stays NaN
    _mm256_storeu_si256(
        reinterpret_cast<__m256i*>(out + i),
        _mm512_maskz_cvtepi32_epi16(all, _mm512_maskz_srli_epi32(all, rounded, 16)));
  }
  to_bf16_scalar(x + i, n - i, out + i);
}

#undef JAMD_BF16

void from_bf16(const uint16_t* x, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t bits = uint32_t{x[i]} << 16;
    std::memcpy(&out[i], &bits, sizeof bits);
  }
}

}  // namespace

bool bf16_supported() {
  static const bool supported = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") &&
           __builtin_cpu_supports("fma");
  }();
  return supported;
}

void to_bf16(const float* x, int64_t n, uint16_t* out) {
  if (n >= 16 && bf16_supported()) {
    to_bf16_avx512(x, n, out);
  } else {
    to_bf16_scalar(x, n, out);
  }
}

int64_t packed_bf16_elements(int64_t out, int64_t in) {
  return (out + kPanelOutputs - 1) / kPanelOutputs * kPanelOutputs * 2 * ((in + 1) / 2);
}

void pack_panels_bf16(const uint16_t* w, int64_t out, int64_t in, uint16_t* packed) {
  const int64_t in_pairs = (in + 1) / 2, n_panels = (out + kPanelOutputs - 1) / kPanelOutputs;
  for (int64_t p = 0; p < n_panels; ++p) {
    uint16_t* panel = packed + p * in_pairs * 2 * kPanelOutputs;
    for (int64_t k = 0; k < in_pairs; ++k) {
      for (int64_t j = 0; j < kPanelOutputs; ++j) {
        for (int64_t e = 0; e < 2; ++e) {
          const int64_t o = p * kPanelOutputs + j, i = 2 * k + e;
          panel[(k * kPanelOutputs + j) * 2 + e] = o < out && i < in ? w[o * in + i] : 0;
        }
      }
    }
  }
}

void matmul_packed_bf16(const uint16_t* x, int64_t n_rows, int64_t in, const uint16_t* packed,
                        int64_t out, int64_t p_begin, int64_t p_end, int64_t y_stride, float* y) {
  matmul_packed_bf16_impl(x, n_rows, in, packed, out, p_begin, p_end, y_stride, y);
}

}  // namespace jamd::models::cpu

namespace jamd::models::cpu {

void attention_scores_bf16(const float* q, int n_q, int64_t head_dim, const uint16_t* k_blocks,
                           int64_t n_blocks, float scale, float* out, int64_t out_stride) {
  avx512::attention_scores<Bf16Keys>(q, n_q, head_dim, k_blocks, n_blocks, scale, out, out_stride);
}

void attention_mix_bf16(const float* p, int64_t p_stride, int n_q, const uint16_t* v,
                        int64_t n_keys, int64_t head_dim, float* out) {
  int h = 0;
  if (head_dim == 32) {
    for (; h + 4 <= n_q; h += 4) mix4_bf16_32(p + h * p_stride, p_stride, v, n_keys, out + h * 32);
  }
  if (head_dim % 16 == 0) {
    for (; h < n_q; ++h) mix_head_bf16(p + h * p_stride, v, n_keys, head_dim, out + h * head_dim);
    return;
  }
  // Other head sizes: widen the rows one at a time (not a shape any model uses yet).
  float row[kMaxBf16HeadDim];
  for (int64_t t = 0; t < n_keys; ++t) {
    from_bf16(v + t * head_dim, head_dim, row);
    for (int hh = h; hh < n_q; ++hh) {
      for (int64_t i = 0; i < head_dim; ++i)
        out[hh * head_dim + i] += p[hh * p_stride + t] * row[i];
    }
  }
}

}  // namespace jamd::models::cpu
