// The CPU backend's inner loops: matrix products, attention scores, norms and activations, in a
// portable version, an AVX2+FMA version and AVX2 with AVX-512 attention, chosen at run time
// (__builtin_cpu_supports).
//
//   const cpu::Kernels& k = cpu::best_kernels();
//   std::vector<float> packed(cpu::packed_floats(d_out, d_in));
//   cpu::pack_panels(w, d_out, d_in, packed.data());               // once, at load
//   k.matmul_packed(x, n_rows, d_in, packed.data(), d_out, 0,      // y[r, o] = sum_i x[r, i] w[o,
//   i]
//                   (d_out + cpu::kPanelOutputs - 1) / cpu::kPanelOutputs, d_out, y);
//
// Thread safety: the kernels are pure functions of their arguments; any thread may call them.
#pragma once

#include <cstdint>

namespace jamd::models::cpu {

// Keys are cached in blocks of kKeyBlock positions, transposed: [block][head_dim][kKeyBlock].
// The scores of one block are then kKeyBlock-wide vector products with no horizontal sums, and
// every query head of a grouped-query group reads the block once.
inline constexpr int64_t kKeyBlock = 16;

struct Kernels {
  const char* name;  // "avx512", "avx2+fma" or "portable"
  // y[r * y_stride + o] = sum_i x[r * in + i] * w[o * in + i] for r < n_rows and the outputs of
  // panels [p_begin, p_end), with w packed by pack_panels (below).
  void (*matmul_packed)(const float* x, int64_t n_rows, int64_t in, const float* packed,
                        int64_t out, int64_t p_begin, int64_t p_end, int64_t y_stride, float* y);
  // out[h * out_stride + t] = scale * dot(q + h * head_dim, key t), for h < n_q and
  // t < n_blocks * kKeyBlock; keys blocked as above, k_blocks[b][i][kKeyBlock].
  void (*attention_scores)(const float* q, int n_q, int64_t head_dim, const float* k_blocks,
                           int64_t n_blocks, float scale, float* out, int64_t out_stride);
  // out[h * head_dim + i] += sum_t p[h * p_stride + t] * v[t * head_dim + i], for h < n_q and
  // t < n_keys: the query heads of a group read each value row once (or once per pair).
  void (*attention_mix)(const float* p, int64_t p_stride, int n_q, const float* v, int64_t n_keys,
                        int64_t head_dim, float* out);
  // x[i] = exp(x[i] - max(x)); returns the sum of the results (the softmax denominator).
  float (*softmax_unnormalized)(float* x, int64_t n);
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
// kReduced's weights in panels like the float32 ones (below), each panel [(in + 1) / 2 input
// pairs][kPanelOutputs][2]: one vector of 32 bfloat16 per input pair, which vdpbf16ps multiplies
// with the broadcast pair of inputs. Rows of x hold 2 * ((in + 1) / 2) bfloat16, zero-padded.
// Only when bf16_supported().
int64_t packed_bf16_elements(int64_t out, int64_t in);
void pack_panels_bf16(const uint16_t* w, int64_t out, int64_t in, uint16_t* packed);
void matmul_packed_bf16(const uint16_t* x, int64_t n_rows, int64_t in, const uint16_t* packed,
                        int64_t out, int64_t p_begin, int64_t p_end, int64_t y_stride, float* y);

// The KV cache of Precision::kReduced in bfloat16: attention_scores and attention_mix of
// Kernels with 16-bit keys and values (widened to float32 exactly, summed in float32). Only when
// bf16_supported(); head_dim at most kMaxBf16HeadDim.
inline constexpr int64_t kMaxBf16HeadDim = 256;
void attention_scores_bf16(const float* q, int n_q, int64_t head_dim, const uint16_t* k_blocks,
                           int64_t n_blocks, float scale, float* out, int64_t out_stride);
void attention_mix_bf16(const float* p, int64_t p_stride, int n_q, const uint16_t* v,
                        int64_t n_keys, int64_t head_dim, float* out);

// Float32 weights are repacked in panels of kPanelOutputs outputs, each panel
// [in][kPanelOutputs], zero-padded past `out`: every product reads the weights front to back in
// one stream. With several input rows the AVX2 kernel keeps a 6-row x 16-output tile of y in
// registers and reads each weight once per 6 rows; with one row (a one-jam decode step) it keeps
// 8 partial sums of the 16 outputs, one weight vector per input.
inline constexpr int64_t kPanelOutputs = 16;
int64_t packed_floats(int64_t out, int64_t in);
void pack_panels(const float* w, int64_t out, int64_t in, float* packed);
// The AVX2 panel kernel (Kernels::matmul_packed of avx2_kernels()).
void matmul_packed_avx2(const float* x, int64_t n_rows, int64_t in, const float* packed,
                        int64_t out, int64_t p_begin, int64_t p_end, int64_t y_stride, float* y);

// AVX-512 kernels (cpu_kernels_avx512.cc), the parts of avx512_kernels() that differ from
// avx2_kernels(). attention_mix_avx512 returns false for head sizes it has no path for.
void matmul_packed_avx512(const float* x, int64_t n_rows, int64_t in, const float* packed,
                          int64_t out, int64_t p_begin, int64_t p_end, int64_t y_stride, float* y);
void attention_scores_avx512(const float* q, int n_q, int64_t head_dim, const float* k_blocks,
                             int64_t n_blocks, float scale, float* out, int64_t out_stride);
bool attention_mix_avx512(const float* p, int64_t p_stride, int n_q, const float* v, int64_t n_keys,
                          int64_t head_dim, float* out);

const Kernels& portable_kernels();
// nullptr when this CPU lacks AVX2 or FMA.
const Kernels* avx2_kernels();
// avx2_kernels() with AVX-512 attention and multi-row products; nullptr when this CPU lacks
// AVX512F/VL (or AVX2).
const Kernels* avx512_kernels();
// The fastest kernels this CPU runs.
const Kernels& best_kernels();

}  // namespace jamd::models::cpu
