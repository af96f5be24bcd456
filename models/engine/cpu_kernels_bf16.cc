// Reduced-precision matrix products for the CPU backend: bfloat16 weights and activations,
// float32 sums, with AVX512-BF16 (vdpbf16ps) chosen at run time.
#include <immintrin.h>

#include <cstring>

#include "models/engine/cpu_kernels.h"

namespace jamd::models::cpu {
namespace {

#define JAMD_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")))

JAMD_BF16 inline float hsum512(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  __m256 s8 = _mm256_add_ps(_mm256_load_ps(lanes), _mm256_load_ps(lanes + 8));
  __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  s4 = _mm_add_ss(s4, _mm_movehdup_ps(s4));
  return _mm_cvtss_f32(s4);
}

JAMD_BF16 inline __m512bh load_bh(const uint16_t* p, __mmask32 m) {
  return (__m512bh)_mm512_maskz_loadu_epi16(m, p);
}

// 4 weight rows against n_x (1 or 2) input rows; 32 bf16 (16 pairs) per instruction, the tail
// with a masked load.
template <int kRows>
JAMD_BF16 void tile_bf16(const uint16_t* x, int64_t in, const uint16_t* w, float* y,
                         int64_t y_stride) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  __m512 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  for (int64_t i = 0; i < in; i += 32) {
    const int64_t left = in - i;
    const __mmask32 m = left >= 32 ? ~__mmask32{0} : static_cast<__mmask32>((1u << left) - 1);
    const __m512bh w0 = load_bh(w + i, m), w1 = load_bh(w + in + i, m);
    const __m512bh w2 = load_bh(w + 2 * in + i, m), w3 = load_bh(w + 3 * in + i, m);
    const __m512bh u = load_bh(x + i, m);
    a0 = _mm512_dpbf16_ps(a0, u, w0);
    a1 = _mm512_dpbf16_ps(a1, u, w1);
    a2 = _mm512_dpbf16_ps(a2, u, w2);
    a3 = _mm512_dpbf16_ps(a3, u, w3);
    if constexpr (kRows == 2) {
      const __m512bh v = load_bh(x + in + i, m);
      b0 = _mm512_dpbf16_ps(b0, v, w0);
      b1 = _mm512_dpbf16_ps(b1, v, w1);
      b2 = _mm512_dpbf16_ps(b2, v, w2);
      b3 = _mm512_dpbf16_ps(b3, v, w3);
    }
  }
  y[0] = hsum512(a0);
  y[1] = hsum512(a1);
  y[2] = hsum512(a2);
  y[3] = hsum512(a3);
  if constexpr (kRows == 2) {
    y[y_stride] = hsum512(b0);
    y[y_stride + 1] = hsum512(b1);
    y[y_stride + 2] = hsum512(b2);
    y[y_stride + 3] = hsum512(b3);
  }
}

// One input row against 8 weight rows (a one-jam decode step): more weight streams in flight.
// Named accumulators: with an array GCC stores them to the stack every iteration.
JAMD_BF16 void tile_bf16_8x1(const uint16_t* x, int64_t in, const uint16_t* w, float* y) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (int64_t i = 0; i < in; i += 32) {
    const int64_t left = in - i;
    const __mmask32 m = left >= 32 ? ~__mmask32{0} : static_cast<__mmask32>((1u << left) - 1);
    const __m512bh u = load_bh(x + i, m);
    a0 = _mm512_dpbf16_ps(a0, u, load_bh(w + i, m));
    a1 = _mm512_dpbf16_ps(a1, u, load_bh(w + in + i, m));
    a2 = _mm512_dpbf16_ps(a2, u, load_bh(w + 2 * in + i, m));
    a3 = _mm512_dpbf16_ps(a3, u, load_bh(w + 3 * in + i, m));
    a4 = _mm512_dpbf16_ps(a4, u, load_bh(w + 4 * in + i, m));
    a5 = _mm512_dpbf16_ps(a5, u, load_bh(w + 5 * in + i, m));
    a6 = _mm512_dpbf16_ps(a6, u, load_bh(w + 6 * in + i, m));
    a7 = _mm512_dpbf16_ps(a7, u, load_bh(w + 7 * in + i, m));
  }
  y[0] = hsum512(a0);
  y[1] = hsum512(a1);
  y[2] = hsum512(a2);
  y[3] = hsum512(a3);
  y[4] = hsum512(a4);
  y[5] = hsum512(a5);
  y[6] = hsum512(a6);
  y[7] = hsum512(a7);
}

JAMD_BF16 float dot_bf16(const uint16_t* x, const uint16_t* w, int64_t in) {
  __m512 a = _mm512_setzero_ps();
  for (int64_t i = 0; i < in; i += 32) {
    const int64_t left = in - i;
    const __mmask32 m = left >= 32 ? ~__mmask32{0} : static_cast<__mmask32>((1u << left) - 1);
    a = _mm512_dpbf16_ps(a, load_bh(x + i, m), load_bh(w + i, m));
  }
  return hsum512(a);
}

JAMD_BF16 void matmul_bf16_impl(const uint16_t* x, int64_t n_rows, int64_t in, const uint16_t* w,
                                int64_t o_begin, int64_t o_end, int64_t y_stride, float* y) {
  int64_t o = o_begin;
  if (n_rows == 1) {
    for (; o + 8 <= o_end; o += 8) tile_bf16_8x1(x, in, w + o * in, y + o);
  }
  for (; o + 4 <= o_end; o += 4) {
    const uint16_t* wo = w + o * in;
    int64_t r = 0;
    for (; r + 2 <= n_rows; r += 2)
      tile_bf16<2>(x + r * in, in, wo, y + r * y_stride + o, y_stride);
    if (r < n_rows) tile_bf16<1>(x + r * in, in, wo, y + r * y_stride + o, y_stride);
  }
  for (; o < o_end; ++o) {
    for (int64_t r = 0; r < n_rows; ++r) y[r * y_stride + o] = dot_bf16(x + r * in, w + o * in, in);
  }
}

// 16 bfloat16 values widened to float32: the top half of each float's bits, exactly.
JAMD_BF16 inline __m512 load16_bf16(const uint16_t* p) {
  // The zero-masking forms: the unmasked ones start from an undefined vector, which GCC 12
  // reports as maybe-uninitialized.
  const __mmask16 all = 0xffff;
  const __m256i halves = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m512i wide = _mm512_maskz_cvtepu16_epi32(all, halves);
  return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(all, wide, 16));
}

// As the AVX-512 float32 kernel (cpu_kernels_avx512.cc), on bfloat16 key blocks: half the bytes
// per key, which is what 32 streams' attention waits for.
template <int kHeads>
JAMD_BF16 void scores_heads_bf16(const float* q, int64_t head_dim, const uint16_t* k_blocks,
                                 int64_t n_blocks, float scale, float* out, int64_t out_stride) {
  const __m512 vscale = _mm512_set1_ps(scale);
  const int64_t even_dims = head_dim & ~int64_t{1};
  for (int64_t b = 0; b < n_blocks; ++b) {
    const uint16_t* kb = k_blocks + b * head_dim * kKeyBlock;
    __m512 even[kHeads], odd[kHeads];
#pragma GCC unroll 4
    for (int h = 0; h < kHeads; ++h) even[h] = odd[h] = _mm512_setzero_ps();
    for (int64_t i = 0; i < even_dims; i += 2) {
      const __m512 k0 = load16_bf16(kb + i * kKeyBlock), k1 = load16_bf16(kb + (i + 1) * kKeyBlock);
#pragma GCC unroll 4
      for (int h = 0; h < kHeads; ++h) {
        even[h] = _mm512_fmadd_ps(_mm512_set1_ps(q[h * head_dim + i]), k0, even[h]);
        odd[h] = _mm512_fmadd_ps(_mm512_set1_ps(q[h * head_dim + i + 1]), k1, odd[h]);
      }
    }
    if (even_dims < head_dim) {
      const __m512 k0 = load16_bf16(kb + even_dims * kKeyBlock);
#pragma GCC unroll 4
      for (int h = 0; h < kHeads; ++h) {
        even[h] = _mm512_fmadd_ps(_mm512_set1_ps(q[h * head_dim + even_dims]), k0, even[h]);
      }
    }
#pragma GCC unroll 4
    for (int h = 0; h < kHeads; ++h) {
      _mm512_storeu_ps(out + h * out_stride + b * kKeyBlock,
                       _mm512_mul_ps(_mm512_add_ps(even[h], odd[h]), vscale));
    }
  }
}

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

void matmul_nt_bf16(const uint16_t* x, int64_t n_rows, int64_t in, const uint16_t* w,
                    int64_t o_begin, int64_t o_end, int64_t y_stride, float* y) {
  matmul_bf16_impl(x, n_rows, in, w, o_begin, o_end, y_stride, y);
}

}  // namespace jamd::models::cpu

namespace jamd::models::cpu {

void attention_scores_bf16(const float* q, int n_q, int64_t head_dim, const uint16_t* k_blocks,
                           int64_t n_blocks, float scale, float* out, int64_t out_stride) {
  int h = 0;
  for (; h + 4 <= n_q; h += 4) {
    scores_heads_bf16<4>(q + h * head_dim, head_dim, k_blocks, n_blocks, scale,
                         out + h * out_stride, out_stride);
  }
  for (; h < n_q; ++h) {
    scores_heads_bf16<1>(q + h * head_dim, head_dim, k_blocks, n_blocks, scale,
                         out + h * out_stride, out_stride);
  }
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
