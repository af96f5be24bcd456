// Matrix products for the CPU backend on panel-packed weights: an outer-product micro-kernel
// (6 input rows x 16 outputs in 12 ymm accumulators) for prefill and batched decode, and a
// one-row kernel for a one-jam decode step.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "models/engine/cpu_kernels.h"

namespace jamd::models::cpu {
namespace {

#define JAMD_AVX2 __attribute__((target("avx2,fma")))

// kRows input rows against one panel. Fully unrolled so the accumulators live in registers.
template <int kRows>
JAMD_AVX2 void panel_tile(const float* x, int64_t in, const float* panel, int64_t n_out, float* y,
                          int64_t y_stride) {
  __m256 lo[kRows], hi[kRows];
#pragma GCC unroll 6
  for (int r = 0; r < kRows; ++r) lo[r] = hi[r] = _mm256_setzero_ps();
  for (int64_t i = 0; i < in; ++i) {
    const __m256 w0 = _mm256_loadu_ps(panel + i * kPanelOutputs);
    const __m256 w1 = _mm256_loadu_ps(panel + i * kPanelOutputs + 8);
#pragma GCC unroll 6
    for (int r = 0; r < kRows; ++r) {
      const __m256 xr = _mm256_broadcast_ss(x + r * in + i);
      lo[r] = _mm256_fmadd_ps(xr, w0, lo[r]);
      hi[r] = _mm256_fmadd_ps(xr, w1, hi[r]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < kRows; ++r) {
    float* yr = y + r * y_stride;
    if (n_out == kPanelOutputs) {
      _mm256_storeu_ps(yr, lo[r]);
      _mm256_storeu_ps(yr + 8, hi[r]);
    } else {
      alignas(32) float tmp[kPanelOutputs];
      _mm256_store_ps(tmp, lo[r]);
      _mm256_store_ps(tmp + 8, hi[r]);
      std::memcpy(yr, tmp, static_cast<size_t>(n_out) * sizeof(float));
    }
  }
}

// One input row against one panel: the 16 outputs' sums split over 4 interleaved inputs (8 ymm
// accumulators, enough independent FMAs to hide their latency). The panel is read front to back
// in one stream, which the prefetchers follow better than the 8 row streams of a row-major tile
// (~100 vs ~75 GB/s on the team VM, scratch benchmark).
JAMD_AVX2 void panel_row(const float* x, int64_t in, const float* panel, int64_t n_out, float* y) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  int64_t i = 0;
  for (; i + 4 <= in; i += 4) {
    const float* w = panel + i * kPanelOutputs;
    const __m256 x0 = _mm256_broadcast_ss(x + i), x1 = _mm256_broadcast_ss(x + i + 1);
    const __m256 x2 = _mm256_broadcast_ss(x + i + 2), x3 = _mm256_broadcast_ss(x + i + 3);
    a0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(w), a0);
    b0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(w + 8), b0);
    a1 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(w + 16), a1);
    b1 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(w + 24), b1);
    a2 = _mm256_fmadd_ps(x2, _mm256_loadu_ps(w + 32), a2);
    b2 = _mm256_fmadd_ps(x2, _mm256_loadu_ps(w + 40), b2);
    a3 = _mm256_fmadd_ps(x3, _mm256_loadu_ps(w + 48), a3);
    b3 = _mm256_fmadd_ps(x3, _mm256_loadu_ps(w + 56), b3);
  }
  for (; i < in; ++i) {
    const __m256 xi = _mm256_broadcast_ss(x + i);
    a0 = _mm256_fmadd_ps(xi, _mm256_loadu_ps(panel + i * kPanelOutputs), a0);
    b0 = _mm256_fmadd_ps(xi, _mm256_loadu_ps(panel + i * kPanelOutputs + 8), b0);
  }
  const __m256 lo = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
  const __m256 hi = _mm256_add_ps(_mm256_add_ps(b0, b1), _mm256_add_ps(b2, b3));
  if (n_out == kPanelOutputs) {
    _mm256_storeu_ps(y, lo);
    _mm256_storeu_ps(y + 8, hi);
  } else {
    alignas(32) float tmp[kPanelOutputs];
    _mm256_store_ps(tmp, lo);
    _mm256_store_ps(tmp + 8, hi);
    std::memcpy(y, tmp, static_cast<size_t>(n_out) * sizeof(float));
  }
}

#undef JAMD_AVX2

}  // namespace

int64_t packed_floats(int64_t out, int64_t in) {
  return (out + kPanelOutputs - 1) / kPanelOutputs * kPanelOutputs * in;
}

void pack_panels(const float* w, int64_t out, int64_t in, float* packed) {
  const int64_t n_panels = (out + kPanelOutputs - 1) / kPanelOutputs;
  for (int64_t p = 0; p < n_panels; ++p) {
    float* panel = packed + p * kPanelOutputs * in;
    for (int64_t i = 0; i < in; ++i) {
      for (int64_t j = 0; j < kPanelOutputs; ++j) {
        const int64_t o = p * kPanelOutputs + j;
        panel[i * kPanelOutputs + j] = o < out ? w[o * in + i] : 0.0f;
      }
    }
  }
}

void matmul_packed_avx2(const float* x, int64_t n_rows, int64_t in, const float* packed,
                        int64_t out, int64_t p_begin, int64_t p_end, int64_t y_stride, float* y) {
  for (int64_t p = p_begin; p < p_end; ++p) {
    const float* panel = packed + p * kPanelOutputs * in;
    const int64_t o = p * kPanelOutputs;
    const int64_t n_out = std::min(kPanelOutputs, out - o);
    int64_t r = 0;
    for (; r + 6 <= n_rows; r += 6)
      panel_tile<6>(x + r * in, in, panel, n_out, y + r * y_stride + o, y_stride);
    switch (n_rows - r) {
      case 5:
        panel_tile<5>(x + r * in, in, panel, n_out, y + r * y_stride + o, y_stride);
        break;
      case 4:
        panel_tile<4>(x + r * in, in, panel, n_out, y + r * y_stride + o, y_stride);
        break;
      case 3:
        panel_tile<3>(x + r * in, in, panel, n_out, y + r * y_stride + o, y_stride);
        break;
      case 2:
        panel_tile<2>(x + r * in, in, panel, n_out, y + r * y_stride + o, y_stride);
        break;
      case 1:
        panel_row(x + r * in, in, panel, n_out, y + r * y_stride + o);
        break;
      default:
        break;
    }
  }
}

}  // namespace jamd::models::cpu
