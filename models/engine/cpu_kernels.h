// The CPU backend's inner loops: matrix products, attention scores, norms and activations, in a
// portable version and an AVX2+FMA version chosen at run time (__builtin_cpu_supports).
//
//   const cpu::Kernels& k = cpu::best_kernels();
//   k.matmul_nt(x, n_rows, d_in, w, 0, d_out, d_out, y);  // y[r, o] = sum_i x[r, i] w[o, i]
//
// Thread safety: the kernels are pure functions of their arguments; any thread may call them.
#pragma once

#include <cstdint>

namespace jamd::models::cpu {

struct Kernels {
  const char* name;  // "avx2+fma" or "portable"
  // y[r * y_stride + o] = sum_i x[r * in + i] * w[o * in + i], for r < n_rows and
  // o_begin <= o < o_end. Weights are row-major [out, in], as in the model file.
  void (*matmul_nt)(const float* x, int64_t n_rows, int64_t in, const float* w, int64_t o_begin,
                    int64_t o_end, int64_t y_stride, float* y);
  // out[t] = scale * dot(q, k + t * k_stride), head_dim floats each, t < n_keys.
  void (*attention_scores)(const float* q, const float* k, int64_t k_stride, int64_t n_keys,
                           int64_t head_dim, float scale, float* out);
  // out += sum_t p[t] * v[t * v_stride ..], head_dim floats.
  void (*attention_mix)(const float* p, const float* v, int64_t v_stride, int64_t n_keys,
                        int64_t head_dim, float* out);
  // attention_mix for two query heads that read the same values (grouped-query attention):
  // each value row is loaded once for both.
  void (*attention_mix2)(const float* p0, const float* p1, const float* v, int64_t v_stride,
                         int64_t n_keys, int64_t head_dim, float* out0, float* out1);
  // x[i] = exp(x[i] - shift); returns the sum of the results (the softmax denominator).
  float (*exp_shifted_sum)(float* x, int64_t n, float shift);
  // out[i] = silu(gate[i]) * up[i].
  void (*silu_mul)(const float* gate, const float* up, int64_t n, float* out);
  // out = x / sqrt(mean(x^2) + eps) * gain.
  void (*rmsnorm)(const float* x, const float* gain, int64_t n, float eps, float* out);
};

// Precision::kReduced: weights and activations rounded to bfloat16, products summed in float32
// by AVX512-BF16 dot-product instructions (cpu_kernels_bf16.cc). Half the weight bytes and twice
// the multiply rate of float32; logits move by about 1e-2.
bool bf16_supported();
// Round to nearest even, the way the hardware's own conversion does.
void to_bf16(const float* x, int64_t n, uint16_t* out);
// As matmul_nt, with x and w in bfloat16. Only when bf16_supported().
void matmul_nt_bf16(const uint16_t* x, int64_t n_rows, int64_t in, const uint16_t* w,
                    int64_t o_begin, int64_t o_end, int64_t y_stride, float* y);

// Weights repacked for matrix-matrix products (prefill, batched decode): panels of
// kPanelOutputs outputs, each panel [in][kPanelOutputs], zero-padded past `out`. The kernel keeps
// a 6-row x 16-output tile of y in registers and reads each weight once per 6 input rows.
inline constexpr int64_t kPanelOutputs = 16;
int64_t packed_floats(int64_t out, int64_t in);
void pack_panels(const float* w, int64_t out, int64_t in, float* packed);
// y[r * y_stride + o] = sum_i x[r * in + i] * w[o * in + i] for panels [p_begin, p_end), with w
// packed by pack_panels. Only with avx2_kernels() present.
void matmul_packed_avx2(const float* x, int64_t n_rows, int64_t in, const float* packed,
                        int64_t out, int64_t p_begin, int64_t p_end, int64_t y_stride, float* y);

const Kernels& portable_kernels();
// nullptr when this CPU lacks AVX2 or FMA.
const Kernels* avx2_kernels();
// The fastest kernels this CPU runs.
const Kernels& best_kernels();

}  // namespace jamd::models::cpu
