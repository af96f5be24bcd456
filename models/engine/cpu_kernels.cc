// The CPU backend's inner loops, portable and AVX2+FMA. The AVX2 functions carry
// target("avx2,fma") so the rest of the build stays portable; best_kernels() picks at run time.
#include "models/engine/cpu_kernels.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

namespace jamd::models::cpu {
namespace {

// ---- portable: the plain definitions, also the reference the fast ones are tested against.

void matmul_nt_portable(const float* x, int64_t n_rows, int64_t in, const float* w,
                        int64_t o_begin, int64_t o_end, int64_t y_stride, float* y) {
  for (int64_t o = o_begin; o < o_end; ++o) {
    const float* wo = w + o * in;
    for (int64_t r = 0; r < n_rows; ++r) {
      const float* xr = x + r * in;
      float acc = 0.0f;
      for (int64_t i = 0; i < in; ++i) acc += xr[i] * wo[i];
      y[r * y_stride + o] = acc;
    }
  }
}

void attention_scores_portable(const float* q, const float* k, int64_t k_stride, int64_t n_keys,
                               int64_t head_dim, float scale, float* out) {
  for (int64_t t = 0; t < n_keys; ++t) {
    const float* kt = k + t * k_stride;
    float acc = 0.0f;
    for (int64_t i = 0; i < head_dim; ++i) acc += q[i] * kt[i];
    out[t] = acc * scale;
  }
}

void attention_mix_portable(const float* p, const float* v, int64_t v_stride, int64_t n_keys,
                            int64_t head_dim, float* out) {
  for (int64_t t = 0; t < n_keys; ++t) {
    const float* vt = v + t * v_stride;
    for (int64_t i = 0; i < head_dim; ++i) out[i] += p[t] * vt[i];
  }
}

void attention_mix2_portable(const float* p0, const float* p1, const float* v, int64_t v_stride,
                             int64_t n_keys, int64_t head_dim, float* out0, float* out1) {
  attention_mix_portable(p0, v, v_stride, n_keys, head_dim, out0);
  attention_mix_portable(p1, v, v_stride, n_keys, head_dim, out1);
}

float exp_shifted_sum_portable(float* x, int64_t n, float shift) {
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
  const __m256i e = _mm256_slli_epi32(
      _mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

// Tiles of 4 weight rows against 1 or 2 input rows, written out with named accumulators: with
// arrays GCC keeps them on the stack, which halves the speed.
JAMD_AVX2 inline void finish_row(const __m256 acc[4], const float* x, int64_t in, int64_t in8,
                                 const float* w, float* y) {
  for (int j = 0; j < 4; ++j) {
    float s = hsum(acc[j]);
    for (int64_t i = in8; i < in; ++i) s += x[i] * w[j * in + i];
    y[j] = s;
  }
}

JAMD_AVX2 void tile_4x2(const float* x, int64_t in, const float* w, float* y, int64_t y_stride) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  __m256 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  const float* x1 = x + in;
  const int64_t in8 = in & ~int64_t{7};
  for (int64_t i = 0; i < in8; i += 8) {
    const __m256 w0 = _mm256_loadu_ps(w + i), w1 = _mm256_loadu_ps(w + in + i);
    const __m256 w2 = _mm256_loadu_ps(w + 2 * in + i), w3 = _mm256_loadu_ps(w + 3 * in + i);
    const __m256 u = _mm256_loadu_ps(x + i), v = _mm256_loadu_ps(x1 + i);
    a0 = _mm256_fmadd_ps(u, w0, a0);
    a1 = _mm256_fmadd_ps(u, w1, a1);
    a2 = _mm256_fmadd_ps(u, w2, a2);
    a3 = _mm256_fmadd_ps(u, w3, a3);
    b0 = _mm256_fmadd_ps(v, w0, b0);
    b1 = _mm256_fmadd_ps(v, w1, b1);
    b2 = _mm256_fmadd_ps(v, w2, b2);
    b3 = _mm256_fmadd_ps(v, w3, b3);
  }
  const __m256 ra[4] = {a0, a1, a2, a3}, rb[4] = {b0, b1, b2, b3};
  finish_row(ra, x, in, in8, w, y);
  finish_row(rb, x1, in, in8, w, y + y_stride);
}

JAMD_AVX2 void tile_4x1(const float* x, int64_t in, const float* w, float* y) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  const int64_t in8 = in & ~int64_t{7};
  for (int64_t i = 0; i < in8; i += 8) {
    const __m256 u = _mm256_loadu_ps(x + i);
    a0 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w + i), a0);
    a1 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w + in + i), a1);
    a2 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w + 2 * in + i), a2);
    a3 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w + 3 * in + i), a3);
  }
  const __m256 ra[4] = {a0, a1, a2, a3};
  finish_row(ra, x, in, in8, w, y);
}

// One input row against 8 weight rows (a decode step of one jam): eight weight streams in flight
// read the weights faster than four (~60 vs ~47 GB/s here), and one horizontal-add tree
// finishes all eight sums.
JAMD_AVX2 void tile_8x1(const float* x, int64_t in, const float* w, float* y) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  const int64_t in8 = in & ~int64_t{7};
  for (int64_t i = 0; i < in8; i += 8) {
    const __m256 u = _mm256_loadu_ps(x + i);
    a0 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w + i), a0);
    a1 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w + in + i), a1);
    a2 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w + 2 * in + i), a2);
    a3 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w + 3 * in + i), a3);
    a4 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w + 4 * in + i), a4);
    a5 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w + 5 * in + i), a5);
    a6 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w + 6 * in + i), a6);
    a7 = _mm256_fmadd_ps(u, _mm256_loadu_ps(w + 7 * in + i), a7);
  }
  const __m256 h0 = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
  const __m256 h1 = _mm256_hadd_ps(_mm256_hadd_ps(a4, a5), _mm256_hadd_ps(a6, a7));
  _mm256_storeu_ps(y, _mm256_add_ps(_mm256_permute2f128_ps(h0, h1, 0x20),
                                    _mm256_permute2f128_ps(h0, h1, 0x31)));
  for (int j = 0; j < 8; ++j) {
    for (int64_t i = in8; i < in; ++i) y[j] += x[i] * w[j * in + i];
  }
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

JAMD_AVX2 void matmul_nt_avx2(const float* x, int64_t n_rows, int64_t in, const float* w,
                              int64_t o_begin, int64_t o_end, int64_t y_stride, float* y) {
  int64_t o = o_begin;
  if (n_rows == 1) {
    for (; o + 8 <= o_end; o += 8) tile_8x1(x, in, w + o * in, y + o);
  }
  for (; o + 4 <= o_end; o += 4) {
    const float* wo = w + o * in;
    int64_t r = 0;
    // 4 weight rows x 2 input rows: 8 accumulators + 4 weights + 1 input fit the 16 registers.
    for (; r + 2 <= n_rows; r += 2) tile_4x2(x + r * in, in, wo, y + r * y_stride + o, y_stride);
    if (r < n_rows) tile_4x1(x + r * in, in, wo, y + r * y_stride + o);
  }
  for (; o < o_end; ++o) {
    for (int64_t r = 0; r < n_rows; ++r) y[r * y_stride + o] = dot_avx2(x + r * in, w + o * in, in);
  }
}

// Eight keys at a time for head_dim <= 32 (kChunks = head_dim / 8, fixed so the loop unrolls):
// eight accumulators, then one horizontal-add tree that leaves the eight scores in one register
// (a hsum per key would cost as much as the dots).
template <int kChunks>
JAMD_AVX2 void scores_8keys_avx2(const float* q, const float* k, int64_t k_stride,
                                 int64_t n_keys, float scale, float* out) {
  __m256 qv[kChunks];
#pragma GCC unroll 4
  for (int c = 0; c < kChunks; ++c) qv[c] = _mm256_loadu_ps(q + 8 * c);
  const __m256 vscale = _mm256_set1_ps(scale);
  for (int64_t t = 0; t + 8 <= n_keys; t += 8) {
    const float* kt = k + t * k_stride;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
           a7 = a0;
#pragma GCC unroll 4
    for (int c = 0; c < kChunks; ++c) {
      const __m256 qc = qv[c];
      a0 = _mm256_fmadd_ps(qc, _mm256_loadu_ps(kt + 8 * c), a0);
      a1 = _mm256_fmadd_ps(qc, _mm256_loadu_ps(kt + k_stride + 8 * c), a1);
      a2 = _mm256_fmadd_ps(qc, _mm256_loadu_ps(kt + 2 * k_stride + 8 * c), a2);
      a3 = _mm256_fmadd_ps(qc, _mm256_loadu_ps(kt + 3 * k_stride + 8 * c), a3);
      a4 = _mm256_fmadd_ps(qc, _mm256_loadu_ps(kt + 4 * k_stride + 8 * c), a4);
      a5 = _mm256_fmadd_ps(qc, _mm256_loadu_ps(kt + 5 * k_stride + 8 * c), a5);
      a6 = _mm256_fmadd_ps(qc, _mm256_loadu_ps(kt + 6 * k_stride + 8 * c), a6);
      a7 = _mm256_fmadd_ps(qc, _mm256_loadu_ps(kt + 7 * k_stride + 8 * c), a7);
    }
    const __m256 h0 = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    const __m256 h1 = _mm256_hadd_ps(_mm256_hadd_ps(a4, a5), _mm256_hadd_ps(a6, a7));
    const __m256 sum = _mm256_add_ps(_mm256_permute2f128_ps(h0, h1, 0x20),
                                     _mm256_permute2f128_ps(h0, h1, 0x31));
    _mm256_storeu_ps(out + t, _mm256_mul_ps(sum, vscale));
  }
}

JAMD_AVX2 void attention_scores_avx2(const float* q, const float* k, int64_t k_stride,
                                     int64_t n_keys, int64_t head_dim, float scale, float* out) {
  if (head_dim % 8 != 0 || head_dim > 64) {
    attention_scores_portable(q, k, k_stride, n_keys, head_dim, scale, out);
    return;
  }
  const int64_t chunks = head_dim / 8;
  __m256 qv[8];
  for (int64_t c = 0; c < chunks; ++c) qv[c] = _mm256_loadu_ps(q + 8 * c);
  if (chunks <= 4 && chunks != 3) {
    const int64_t done = n_keys & ~int64_t{7};
    if (chunks == 1) scores_8keys_avx2<1>(q, k, k_stride, done, scale, out);
    if (chunks == 2) scores_8keys_avx2<2>(q, k, k_stride, done, scale, out);
    if (chunks == 4) scores_8keys_avx2<4>(q, k, k_stride, done, scale, out);
    k += done * k_stride;
    out += done;
    n_keys -= done;
  }
  int64_t t = 0;
  for (; t + 4 <= n_keys; t += 4) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    const float* k0 = k + t * k_stride;
    for (int64_t c = 0; c < chunks; ++c) {
      a0 = _mm256_fmadd_ps(qv[c], _mm256_loadu_ps(k0 + 8 * c), a0);
      a1 = _mm256_fmadd_ps(qv[c], _mm256_loadu_ps(k0 + k_stride + 8 * c), a1);
      a2 = _mm256_fmadd_ps(qv[c], _mm256_loadu_ps(k0 + 2 * k_stride + 8 * c), a2);
      a3 = _mm256_fmadd_ps(qv[c], _mm256_loadu_ps(k0 + 3 * k_stride + 8 * c), a3);
    }
    out[t] = hsum(a0) * scale;
    out[t + 1] = hsum(a1) * scale;
    out[t + 2] = hsum(a2) * scale;
    out[t + 3] = hsum(a3) * scale;
  }
  for (; t < n_keys; ++t) {
    __m256 a0 = _mm256_setzero_ps();
    for (int64_t c = 0; c < chunks; ++c)
      a0 = _mm256_fmadd_ps(qv[c], _mm256_loadu_ps(k + t * k_stride + 8 * c), a0);
    out[t] = hsum(a0) * scale;
  }
}

JAMD_AVX2 void attention_mix_avx2(const float* p, const float* v, int64_t v_stride,
                                  int64_t n_keys, int64_t head_dim, float* out) {
  if (head_dim % 8 != 0 || head_dim > 64) {
    attention_mix_portable(p, v, v_stride, n_keys, head_dim, out);
    return;
  }
  const int64_t chunks = head_dim / 8;
  __m256 acc[8], acc2[8];
  for (int64_t c = 0; c < chunks; ++c) {
    acc[c] = _mm256_loadu_ps(out + 8 * c);
    acc2[c] = _mm256_setzero_ps();
  }
  int64_t t = 0;
  for (; t + 2 <= n_keys; t += 2) {
    const __m256 p0 = _mm256_broadcast_ss(p + t), p1 = _mm256_broadcast_ss(p + t + 1);
    const float* v0 = v + t * v_stride;
    for (int64_t c = 0; c < chunks; ++c) {
      acc[c] = _mm256_fmadd_ps(p0, _mm256_loadu_ps(v0 + 8 * c), acc[c]);
      acc2[c] = _mm256_fmadd_ps(p1, _mm256_loadu_ps(v0 + v_stride + 8 * c), acc2[c]);
    }
  }
  for (; t < n_keys; ++t) {
    const __m256 p0 = _mm256_broadcast_ss(p + t);
    for (int64_t c = 0; c < chunks; ++c)
      acc[c] = _mm256_fmadd_ps(p0, _mm256_loadu_ps(v + t * v_stride + 8 * c), acc[c]);
  }
  for (int64_t c = 0; c < chunks; ++c) _mm256_storeu_ps(out + 8 * c, _mm256_add_ps(acc[c], acc2[c]));
}

// kChunks = head_dim / 8 known at compile time, so the 2 * kChunks accumulators are registers
// (with a run-time count GCC keeps them in memory, which halved the speed).
template <int kChunks>
JAMD_AVX2 void mix2_fixed(const float* p0, const float* p1, const float* v, int64_t v_stride,
                          int64_t n_keys, float* out0, float* out1) {
  __m256 a[kChunks], b[kChunks];
#pragma GCC unroll 8
  for (int c = 0; c < kChunks; ++c) {
    a[c] = _mm256_loadu_ps(out0 + 8 * c);
    b[c] = _mm256_loadu_ps(out1 + 8 * c);
  }
  for (int64_t t = 0; t < n_keys; ++t) {
    const __m256 w0 = _mm256_broadcast_ss(p0 + t), w1 = _mm256_broadcast_ss(p1 + t);
    const float* vt = v + t * v_stride;
#pragma GCC unroll 8
    for (int c = 0; c < kChunks; ++c) {
      const __m256 vc = _mm256_loadu_ps(vt + 8 * c);
      a[c] = _mm256_fmadd_ps(w0, vc, a[c]);
      b[c] = _mm256_fmadd_ps(w1, vc, b[c]);
    }
  }
#pragma GCC unroll 8
  for (int c = 0; c < kChunks; ++c) {
    _mm256_storeu_ps(out0 + 8 * c, a[c]);
    _mm256_storeu_ps(out1 + 8 * c, b[c]);
  }
}

JAMD_AVX2 void attention_mix2_avx2(const float* p0, const float* p1, const float* v,
                                   int64_t v_stride, int64_t n_keys, int64_t head_dim,
                                   float* out0, float* out1) {
  switch (head_dim) {
    case 8: return mix2_fixed<1>(p0, p1, v, v_stride, n_keys, out0, out1);
    case 16: return mix2_fixed<2>(p0, p1, v, v_stride, n_keys, out0, out1);
    case 32: return mix2_fixed<4>(p0, p1, v, v_stride, n_keys, out0, out1);
    case 64: return mix2_fixed<8>(p0, p1, v, v_stride, n_keys, out0, out1);
    default:
      attention_mix_avx2(p0, v, v_stride, n_keys, head_dim, out0);
      attention_mix_avx2(p1, v, v_stride, n_keys, head_dim, out1);
  }
}

JAMD_AVX2 float exp_shifted_sum_avx2(float* x, int64_t n, float shift) {
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
    const __m256 y = _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vinv),
                                   _mm256_loadu_ps(gain + i));
    _mm256_storeu_ps(out + i, y);
  }
  for (; i < n; ++i) out[i] = x[i] * inv * gain[i];
}

#undef JAMD_AVX2

constexpr Kernels kPortable{"portable",
                            matmul_nt_portable,
                            attention_scores_portable,
                            attention_mix_portable,
                            attention_mix2_portable,
                            exp_shifted_sum_portable,
                            silu_mul_portable,
                            rmsnorm_portable};
constexpr Kernels kAvx2{"avx2+fma",         matmul_nt_avx2,       attention_scores_avx2,
                        attention_mix_avx2, attention_mix2_avx2,  exp_shifted_sum_avx2,
                        silu_mul_avx2,      rmsnorm_avx2};

}  // namespace

const Kernels& portable_kernels() { return kPortable; }

const Kernels* avx2_kernels() {
  static const bool supported = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return supported ? &kAvx2 : nullptr;
}

const Kernels& best_kernels() {
  const Kernels* fast = avx2_kernels();
  return fast != nullptr ? *fast : kPortable;
}

}  // namespace jamd::models::cpu
