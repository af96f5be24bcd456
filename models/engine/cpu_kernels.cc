// The CPU backend's inner loops, portable and AVX2+FMA. The AVX2 functions carry
// target("avx2,fma") so the rest of the build stays portable; best_kernels() picks at run time.
#include "models/engine/cpu_kernels.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace jamd::models::cpu {
namespace {

// ---- portable: the plain definitions, also the reference the fast ones are tested against.

void matmul_packed_portable(const float* x, int64_t n_rows, int64_t in, const float* packed,
                            int64_t out, int64_t p_begin, int64_t p_end, int64_t y_stride,
                            float* y) {
  for (int64_t p = p_begin; p < p_end; ++p) {
    const float* panel = packed + p * kPanelOutputs * in;
    for (int64_t j = 0; j < kPanelOutputs && p * kPanelOutputs + j < out; ++j) {
      for (int64_t r = 0; r < n_rows; ++r) {
        float acc = 0.0f;
        for (int64_t i = 0; i < in; ++i) acc += x[r * in + i] * panel[i * kPanelOutputs + j];
        y[r * y_stride + p * kPanelOutputs + j] = acc;
      }
    }
  }
}

void attention_scores_portable(const float* q, int n_q, int64_t head_dim, const float* k_blocks,
                               int64_t n_blocks, float scale, float* out, int64_t out_stride) {
  for (int h = 0; h < n_q; ++h) {
    for (int64_t t = 0; t < n_blocks * kKeyBlock; ++t) {
      const float* kt = k_blocks + (t / kKeyBlock) * head_dim * kKeyBlock + t % kKeyBlock;
      float acc = 0.0f;
      for (int64_t i = 0; i < head_dim; ++i) acc += q[h * head_dim + i] * kt[i * kKeyBlock];
      out[h * out_stride + t] = acc * scale;
    }
  }
}

void attention_mix_portable(const float* p, int64_t p_stride, int n_q, const float* v,
                            int64_t n_keys, int64_t head_dim, float* out) {
  for (int h = 0; h < n_q; ++h) {
    for (int64_t t = 0; t < n_keys; ++t) {
      const float w = p[h * p_stride + t];
      for (int64_t i = 0; i < head_dim; ++i) out[h * head_dim + i] += w * v[t * head_dim + i];
    }
  }
}

float softmax_unnormalized_portable(float* x, int64_t n) {
  const float shift = *std::max_element(x, x + n);
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - shift);
    sum += x[i];
  }
  return sum;
}

void silu_mul_portable(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void rmsnorm_portable(const float* x, const float* gain, int64_t n, float eps, float* out) {
  float ss = 0.0f;
  for (int64_t i = 0; i < n; ++i) ss += x[i] * x[i];
  const float inv = 1.0f / std::sqrt(ss / static_cast<float>(n) + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * inv * gain[i];
}

// ---- AVX2 + FMA.

#define JAMD_AVX2 __attribute__((target("avx2,fma")))

JAMD_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// exp(x) for x in float range, Cephes-style: x = n ln2 + r, a degree-7 polynomial for exp(r)
// and 2^n built in the exponent bits. Relative error about 1e-7; underflows to 0 below -87.
JAMD_AVX2 inline __m256 exp256(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-88.0f)), _mm256_set1_ps(88.0f));
  __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
  fx = _mm256_floor_ps(fx);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

JAMD_AVX2 float dot_avx2(const float* a, const float* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8)
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  float s = hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

// kHeads query heads against each key block: 2 * kHeads accumulators (the block's two halves),
// each key vector loaded once for all the heads. kHeads is a compile-time constant so the
// accumulators stay in registers.
template <int kHeads>
JAMD_AVX2 void scores_heads_avx2(const float* q, int64_t head_dim, const float* k_blocks,
                                 int64_t n_blocks, float scale, float* out, int64_t out_stride) {
  static_assert(kKeyBlock == 16, "two ymm vectors per key block");
  const __m256 vscale = _mm256_set1_ps(scale);
  for (int64_t b = 0; b < n_blocks; ++b) {
    const float* kb = k_blocks + b * head_dim * kKeyBlock;
    __m256 lo[kHeads], hi[kHeads];
#pragma GCC unroll 4
    for (int h = 0; h < kHeads; ++h) lo[h] = hi[h] = _mm256_setzero_ps();
    for (int64_t i = 0; i < head_dim; ++i) {
      const __m256 k0 = _mm256_loadu_ps(kb + i * kKeyBlock);
      const __m256 k1 = _mm256_loadu_ps(kb + i * kKeyBlock + 8);
#pragma GCC unroll 4
      for (int h = 0; h < kHeads; ++h) {
        const __m256 qi = _mm256_broadcast_ss(q + h * head_dim + i);
        lo[h] = _mm256_fmadd_ps(qi, k0, lo[h]);
        hi[h] = _mm256_fmadd_ps(qi, k1, hi[h]);
      }
    }
#pragma GCC unroll 4
    for (int h = 0; h < kHeads; ++h) {
      _mm256_storeu_ps(out + h * out_stride + b * kKeyBlock, _mm256_mul_ps(lo[h], vscale));
      _mm256_storeu_ps(out + h * out_stride + b * kKeyBlock + 8, _mm256_mul_ps(hi[h], vscale));
    }
  }
}

JAMD_AVX2 void attention_scores_avx2(const float* q, int n_q, int64_t head_dim,
                                     const float* k_blocks, int64_t n_blocks, float scale,
                                     float* out, int64_t out_stride) {
  int h = 0;
  for (; h + 4 <= n_q; h += 4) {
    scores_heads_avx2<4>(q + h * head_dim, head_dim, k_blocks, n_blocks, scale,
                         out + h * out_stride, out_stride);
  }
  const float* qh = q + h * head_dim;
  float* oh = out + h * out_stride;
  switch (n_q - h) {
    case 3:
      return scores_heads_avx2<3>(qh, head_dim, k_blocks, n_blocks, scale, oh, out_stride);
    case 2:
      return scores_heads_avx2<2>(qh, head_dim, k_blocks, n_blocks, scale, oh, out_stride);
    case 1:
      return scores_heads_avx2<1>(qh, head_dim, k_blocks, n_blocks, scale, oh, out_stride);
    default:
      return;
  }
}

// kHeads (1 or 2) query heads over the value rows. kChunks = head_dim / 8 is known at compile
// time so the kHeads * kChunks accumulators are registers (with a run-time count GCC kept them
// in memory, which halved the speed).
template <int kHeads, int kChunks>
JAMD_AVX2 void mix_fixed(const float* p, int64_t p_stride, const float* v, int64_t n_keys,
                         float* out) {
  constexpr int64_t kHeadDim = 8 * kChunks;
  __m256 acc[kHeads][kChunks];
#pragma GCC unroll 2
  for (int h = 0; h < kHeads; ++h) {
#pragma GCC unroll 8
    for (int c = 0; c < kChunks; ++c) acc[h][c] = _mm256_loadu_ps(out + h * kHeadDim + 8 * c);
  }
  for (int64_t t = 0; t < n_keys; ++t) {
    const float* vt = v + t * kHeadDim;
#pragma GCC unroll 8
    for (int c = 0; c < kChunks; ++c) {
      const __m256 vc = _mm256_loadu_ps(vt + 8 * c);
#pragma GCC unroll 2
      for (int h = 0; h < kHeads; ++h) {
        acc[h][c] = _mm256_fmadd_ps(_mm256_broadcast_ss(p + h * p_stride + t), vc, acc[h][c]);
      }
    }
  }
#pragma GCC unroll 2
  for (int h = 0; h < kHeads; ++h) {
#pragma GCC unroll 8
    for (int c = 0; c < kChunks; ++c) _mm256_storeu_ps(out + h * kHeadDim + 8 * c, acc[h][c]);
  }
}

// Heads in pairs: each value row is read once per pair.
template <int kChunks>
JAMD_AVX2 void mix_heads_avx2(const float* p, int64_t p_stride, int n_q, const float* v,
                              int64_t n_keys, float* out) {
  constexpr int64_t kHeadDim = 8 * kChunks;
  int h = 0;
  for (; h + 2 <= n_q; h += 2) {
    mix_fixed<2, kChunks>(p + h * p_stride, p_stride, v, n_keys, out + h * kHeadDim);
  }
  if (h < n_q) mix_fixed<1, kChunks>(p + h * p_stride, p_stride, v, n_keys, out + h * kHeadDim);
}

JAMD_AVX2 void attention_mix_avx2(const float* p, int64_t p_stride, int n_q, const float* v,
                                  int64_t n_keys, int64_t head_dim, float* out) {
  switch (head_dim) {
    case 8:
      return mix_heads_avx2<1>(p, p_stride, n_q, v, n_keys, out);
    case 16:
      return mix_heads_avx2<2>(p, p_stride, n_q, v, n_keys, out);
    case 32:
      return mix_heads_avx2<4>(p, p_stride, n_q, v, n_keys, out);
    case 64:
      return mix_heads_avx2<8>(p, p_stride, n_q, v, n_keys, out);
    default:
      return attention_mix_portable(p, p_stride, n_q, v, n_keys, head_dim, out);
  }
}

JAMD_AVX2 float max_avx2(const float* x, int64_t n) {
  __m256 m = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  float best = _mm_cvtss_f32(s);
  for (; i < n; ++i) best = std::max(best, x[i]);
  return best;
}

JAMD_AVX2 float softmax_unnormalized_avx2(float* x, int64_t n) {
  const float shift = max_avx2(x, n);
  const __m256 s = _mm256_set1_ps(shift);
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
    _mm256_storeu_ps(x + i, e);
    acc = _mm256_add_ps(acc, e);
  }
  float sum = hsum(acc);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - shift);
    sum += x[i];
  }
  return sum;
}

JAMD_AVX2 void silu_mul_avx2(const float* gate, const float* up, int64_t n, float* out) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), g));
    const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, e));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  for (; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

JAMD_AVX2 void rmsnorm_avx2(const float* x, const float* gain, int64_t n, float eps, float* out) {
  const float ss = dot_avx2(x, x, n);
  const float inv = 1.0f / std::sqrt(ss / static_cast<float>(n) + eps);
  const __m256 vinv = _mm256_set1_ps(inv);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 y =
        _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vinv), _mm256_loadu_ps(gain + i));
    _mm256_storeu_ps(out + i, y);
  }
  for (; i < n; ++i) out[i] = x[i] * inv * gain[i];
}

JAMD_AVX2 void attention_mix_avx512_or_avx2(const float* p, int64_t p_stride, int n_q,
                                            const float* v, int64_t n_keys, int64_t head_dim,
                                            float* out) {
  if (!attention_mix_avx512(p, p_stride, n_q, v, n_keys, head_dim, out)) {
    attention_mix_avx2(p, p_stride, n_q, v, n_keys, head_dim, out);
  }
}

#undef JAMD_AVX2

constexpr Kernels kPortable{"portable",
                            matmul_packed_portable,
                            attention_scores_portable,
                            attention_mix_portable,
                            softmax_unnormalized_portable,
                            silu_mul_portable,
                            rmsnorm_portable};
constexpr Kernels kAvx2{"avx2+fma",         matmul_packed_avx2,        attention_scores_avx2,
                        attention_mix_avx2, softmax_unnormalized_avx2, silu_mul_avx2,
                        rmsnorm_avx2};
constexpr Kernels kAvx512{"avx512",
                          matmul_packed_avx512,
                          attention_scores_avx512,
                          attention_mix_avx512_or_avx2,
                          softmax_unnormalized_avx2,
                          silu_mul_avx2,
                          rmsnorm_avx2};

}  // namespace

const Kernels& portable_kernels() { return kPortable; }

const Kernels* avx2_kernels() {
  static const bool supported = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return supported ? &kAvx2 : nullptr;
}

const Kernels* avx512_kernels() {
  static const bool supported = [] {
    __builtin_cpu_init();
    return avx2_kernels() != nullptr && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512vl");
  }();
  return supported ? &kAvx512 : nullptr;
}

const Kernels& best_kernels() {
  if (const Kernels* widest = avx512_kernels(); widest != nullptr) return *widest;
  const Kernels* fast = avx2_kernels();
  return fast != nullptr ? *fast : kPortable;
}

}  // namespace jamd::models::cpu
