// The CUDA backend's own kernels (everything but the matrix products, which go to cuBLAS):
// embedding gather, RMSNorm, rotary embedding + KV-cache append, windowed attention over the
// KV rings, SwiGLU. Host-callable launchers; each returns the launch's error code.
//
// Rows: one row is one token of one stream. Per-row metadata (stream slot, absolute position,
// token) lives in device memory so a captured CUDA graph can be replayed with new values.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace jamd::models::cuda {

struct RowMeta {
  const int32_t* stream = nullptr;    // [rows] KV-cache stream slot
  const int64_t* position = nullptr;  // [rows] absolute position of the row's token
  const int32_t* token = nullptr;     // [rows]
};

struct AttentionShape {
  int32_t n_heads = 0;
  int32_t n_kv_heads = 0;
  int32_t head_dim = 0;
  int32_t window = 0;      // keys a query sees, itself included
  int32_t ring_slots = 0;  // KV positions held per stream (window + rollback)
  double rope_theta = 10000.0;
};

// Elements of one stream's K (or V) ring in one layer: n_kv_heads * ring_slots * head_dim.
// Layout of a layer's cache: [stream][kv_head][ring_slot][head_dim], so one head's keys are
// contiguous.
inline int64_t ring_elements(const AttentionShape& s) {
  return static_cast<int64_t>(s.n_kv_heads) * s.ring_slots * s.head_dim;
}

// T is float (Precision::kFloat32) or __half (Precision::kReduced), the storage type of weights,
// KV caches and GEMM inputs; the residual stream and GEMM outputs are always float.

// x[row] = float(embedding[token[row]]).
template <typename T>
cudaError_t launch_embed(const T* embedding, const int32_t* token, int rows, int d_model, float* x,
                         cudaStream_t stream);

// out[row] = T(x[row] / rms(x[row]) * gain), rows of d floats (x row stride = d).
template <typename T>
cudaError_t launch_rmsnorm(const float* x, const float* gain, int rows, int d, float eps, T* out,
                           cudaStream_t stream);

// qkv: [rows, (n_heads + 2 n_kv_heads) * head_dim] from the fused QKV product. Rotates q in
// place and writes rotated k and plain v into the layer's caches at position % ring_slots.
template <typename T>
cudaError_t launch_rope_append(float* qkv, RowMeta meta, int rows, const AttentionShape& shape,
                               T* k_cache, T* v_cache, cudaStream_t stream);

// out[row] = softmax(q k^T / sqrt(head_dim)) v over the row's window, per query head.
// Needs attention_smem_bytes() of dynamic shared memory (see prepare_attention()).
template <typename T>
cudaError_t launch_attention(const float* qkv, RowMeta meta, int rows, const AttentionShape& shape,
                             const T* k_cache, const T* v_cache, T* out, cudaStream_t stream);

// Dynamic shared memory the attention kernel needs for this shape.
size_t attention_smem_bytes(const AttentionShape& shape, int element_bytes);
// Raises the kernel's shared-memory limit for this shape; an error when the device cannot.
template <typename T>
cudaError_t prepare_attention(const AttentionShape& shape);

// gate_up: [rows, 2 d_ff] (gate then up); out[row] = T(silu(gate) * up).
template <typename T>
cudaError_t launch_silu_mul(const float* gate_up, int rows, int d_ff, T* out, cudaStream_t stream);

// out[i] = T(in[i]) for weight upload.
template <typename T>
cudaError_t launch_convert(const float* in, int64_t n, T* out, cudaStream_t stream);

// A trivial kernel: proves the binary carries code this device can run.
cudaError_t launch_probe_kernel(int* device_flag, cudaStream_t stream);

}  // namespace jamd::models::cuda
