// The AVX-512 attention scores over transposed key blocks, one template for every key type: a
// key block (kKeyBlock = 16 positions) is one zmm vector once loaded, and a KeyLoad policy says
// how (float32 keys as they are, bfloat16 keys widened). Internal to the CPU kernels: included
// by cpu_kernels_avx512.cc (float32 cache) and cpu_kernels_bf16.cc (Precision::kReduced).
//
//   struct FloatKeys {
//     using Key = float;
//     JAMD_AVX512_TARGET static __m512 load16(const float* k) { return _mm512_loadu_ps(k); }
//   };
//   avx512::attention_scores<FloatKeys>(q, n_q, head_dim, k_blocks, n_blocks, scale, out, stride);
//
// The target is AVX512F/VL (+AVX2, FMA): a KeyLoad must need no more, so that it inlines here,
// and a caller compiled for a wider target (AVX512-BF16) may inline these in turn.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "models/engine/cpu_kernels.h"

#define JAMD_AVX512_TARGET __attribute__((target("avx512f,avx512vl,avx2,fma")))

namespace jamd::models::cpu::avx512 {

// kHeads query heads against each key block. Even and odd dimensions go to separate
// accumulators: 2 * kHeads independent sums hide the FMA latency.
template <int kHeads, typename KeyLoad>
JAMD_AVX512_TARGET inline void scores_heads(const float* q, int64_t head_dim,
                                            const typename KeyLoad::Key* k_blocks, int64_t n_blocks,
                                            float scale, float* out, int64_t out_stride) {
  static_assert(kKeyBlock == 16, "one zmm vector per key block");
  const __m512 vscale = _mm512_set1_ps(scale);
  const int64_t even_dims = head_dim & ~int64_t{1};
  for (int64_t b = 0; b < n_blocks; ++b) {
    const typename KeyLoad::Key* kb = k_blocks + b * head_dim * kKeyBlock;
    __m512 even[kHeads], odd[kHeads];
#pragma GCC unroll 4
    for (int h = 0; h < kHeads; ++h) even[h] = odd[h] = _mm512_setzero_ps();
    for (int64_t i = 0; i < even_dims; i += 2) {
      const __m512 k0 = KeyLoad::load16(kb + i * kKeyBlock);
      const __m512 k1 = KeyLoad::load16(kb + (i + 1) * kKeyBlock);
#pragma GCC unroll 4
      for (int h = 0; h < kHeads; ++h) {
        even[h] = _mm512_fmadd_ps(_mm512_set1_ps(q[h * head_dim + i]), k0, even[h]);
        odd[h] = _mm512_fmadd_ps(_mm512_set1_ps(q[h * head_dim + i + 1]), k1, odd[h]);
      }
    }
    if (even_dims < head_dim) {
      const __m512 k0 = KeyLoad::load16(kb + even_dims * kKeyBlock);
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

// Kernels::attention_scores: heads in fours (a grouped-query group reads each key block once),
// then the remainder at once.
template <typename KeyLoad>
inline void attention_scores(const float* q, int n_q, int64_t head_dim,
                             const typename KeyLoad::Key* k_blocks, int64_t n_blocks, float scale,
                             float* out, int64_t out_stride) {
  int h = 0;
  for (; h + 4 <= n_q; h += 4) {
    scores_heads<4, KeyLoad>(q + h * head_dim, head_dim, k_blocks, n_blocks, scale,
                             out + h * out_stride, out_stride);
  }
  const float* qh = q + h * head_dim;
  float* oh = out + h * out_stride;
  switch (n_q - h) {
    case 3:
      return scores_heads<3, KeyLoad>(qh, head_dim, k_blocks, n_blocks, scale, oh, out_stride);
    case 2:
      return scores_heads<2, KeyLoad>(qh, head_dim, k_blocks, n_blocks, scale, oh, out_stride);
    case 1:
      return scores_heads<1, KeyLoad>(qh, head_dim, k_blocks, n_blocks, scale, oh, out_stride);
    default:
      return;
  }
}

}  // namespace jamd::models::cpu::avx512
