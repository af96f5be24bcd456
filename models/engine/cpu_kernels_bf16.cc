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
    for (; r + 2 <= n_rows; r += 2) tile_bf16<2>(x + r * in, in, wo, y + r * y_stride + o, y_stride);
    if (r < n_rows) tile_bf16<1>(x + r * in, in, wo, y + r * y_stride + o, y_stride);
  }
  for (; o < o_end; ++o) {
    for (int64_t r = 0; r < n_rows; ++r) y[r * y_stride + o] = dot_bf16(x + r * in, w + o * in, in);
  }
}

#undef JAMD_BF16

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
