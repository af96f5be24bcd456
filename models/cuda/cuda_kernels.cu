// The CUDA backend's own kernels: embedding gather, RMSNorm, rotary + KV append, windowed
// attention over the per-stream KV rings, SwiGLU and weight conversion (see cuda_kernels.h).
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>

#include "models/cuda/cuda_kernels.h"

namespace jamd::models::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kAttentionThreads = 128;
constexpr int kNormRowsPerBlock = 8;  // one warp per row

template <typename T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __half from_float<__half>(float v) {
  return __float2half_rn(v);
}

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }

// Elements in one 16-byte load.
template <typename T>
constexpr int kVec = 16 / static_cast<int>(sizeof(T));

__device__ __forceinline__ void load16(const float* p, float (&f)[4]) {
  const float4 v = *reinterpret_cast<const float4*>(p);
  f[0] = v.x;
  f[1] = v.y;
  f[2] = v.z;
  f[3] = v.w;
}
__device__ __forceinline__ void load16(const __half* p, float (&f)[8]) {
  const uint4 v = *reinterpret_cast<const uint4*>(p);
  const __half2* h = reinterpret_cast<const __half2*>(&v);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 t = __half22float2(h[i]);
    f[2 * i] = t.x;
    f[2 * i + 1] = t.y;
  }
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = kWarp / 2; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = kWarp / 2; o > 0; o /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

template <typename T>
__global__ void embed_kernel(const T* embedding, const int32_t* token, int d_model, float* x) {
  const int row = blockIdx.x;
  const T* src = embedding + static_cast<int64_t>(token[row]) * d_model;
  float* dst = x + static_cast<int64_t>(row) * d_model;
  for (int i = threadIdx.x; i < d_model; i += blockDim.x) dst[i] = to_float(src[i]);
}

template <typename T>
__global__ void rmsnorm_kernel(const float* x, const float* gain, int rows, int d, float eps,
                               T* out) {
  const int row = blockIdx.x * kNormRowsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= rows) return;
  const float* xr = x + static_cast<int64_t>(row) * d;
  float ss = 0.0f;
  for (int i = lane; i < d; i += kWarp) ss += xr[i] * xr[i];
  ss = warp_sum(ss);
  const float inv = 1.0f / sqrtf(ss / static_cast<float>(d) + eps);
  T* o = out + static_cast<int64_t>(row) * d;
  for (int i = lane; i < d; i += kWarp) o[i] = from_float<T>(xr[i] * inv * gain[i]);
}

// One block per row. Angles come from the absolute position in double precision, then float
// (docs/model-format.md, "Positions"), so hours-long jams keep exact rotations.
template <typename T>
__global__ void rope_append_kernel(float* qkv, RowMeta meta, AttentionShape shape, T* k_cache,
                                   T* v_cache) {
  const int row = blockIdx.x;
  const int hd = shape.head_dim;
  const int half = hd / 2;
  const int n_rot_heads = shape.n_heads + shape.n_kv_heads;
  const int64_t stride = static_cast<int64_t>(n_rot_heads + shape.n_kv_heads) * hd;
  const int64_t pos = meta.position[row];
  const int64_t stream = meta.stream[row];
  const int64_t slot = pos % shape.ring_slots;
  float* r = qkv + row * stride;
  const double log_theta = log(shape.rope_theta);
  for (int idx = threadIdx.x; idx < n_rot_heads * half; idx += blockDim.x) {
    const int h = idx / half;
    const int i = idx % half;
    const double inv_freq = exp(-2.0 * i / hd * log_theta);
    double sin_d, cos_d;
    sincos(static_cast<double>(pos) * inv_freq, &sin_d, &cos_d);
    const float c = static_cast<float>(cos_d), s = static_cast<float>(sin_d);
    float* v = r + h * hd;
    const float a = v[i], b = v[i + half];
    const float ra = a * c - b * s, rb = b * c + a * s;
    if (h < shape.n_heads) {
      v[i] = ra;
      v[i + half] = rb;
      continue;
    }
    const int g = h - shape.n_heads;
    const int64_t at = ((stream * shape.n_kv_heads + g) * shape.ring_slots + slot) * hd;
    k_cache[at + i] = from_float<T>(ra);
    k_cache[at + i + half] = from_float<T>(rb);
    const float* val = r + static_cast<int64_t>(n_rot_heads + g) * hd;
    v_cache[at + i] = from_float<T>(val[i]);
    v_cache[at + i + half] = from_float<T>(val[i + half]);
  }
}

// Shared memory of the attention kernel, in floats.
struct AttentionSmem {
  int q, inv_sum, scratch;
  __host__ __device__ static AttentionSmem of(const AttentionShape& s, int rep, int vec) {
    const int n_groups = kAttentionThreads / (s.head_dim / vec);
    AttentionSmem m;
    m.q = rep * s.head_dim;
    m.inv_sum = 8;
    m.scratch =
        rep * s.window > n_groups * rep * s.head_dim ? rep * s.window : n_groups * rep * s.head_dim;
    return m;
  }
  __host__ __device__ int total() const { return q + inv_sum + scratch; }
};

// One block per (row, kv head): the kRep query heads that share the kv head read its keys once.
// Pass 1: a thread per key computes kRep scores; pass 2: a warp per query head does the
// softmax; pass 3: threads split (key subset, 16-byte chunk of head_dim) and reduce via smem.
template <typename T, int kRep>
__global__ void __launch_bounds__(kAttentionThreads)
    attention_kernel(const float* qkv, RowMeta meta, AttentionShape shape, const T* k_cache,
                     const T* v_cache, T* out) {
  constexpr int V = kVec<T>;
  extern __shared__ float smem[];
  const AttentionSmem layout = AttentionSmem::of(shape, kRep, V);
  float* q_s = smem;
  float* inv_sum = q_s + layout.q;
  float* scratch = inv_sum + layout.inv_sum;

  const int row = blockIdx.x, g = blockIdx.y, tid = threadIdx.x;
  const int hd = shape.head_dim, n_rep = shape.n_heads / shape.n_kv_heads;
  const int64_t pos = meta.position[row];
  const int64_t lo = pos - shape.window + 1 > 0 ? pos - shape.window + 1 : 0;
  const int n_keys = static_cast<int>(pos - lo + 1);
  const int64_t base =
      (static_cast<int64_t>(meta.stream[row]) * shape.n_kv_heads + g) * shape.ring_slots * hd;
  const T* k_base = k_cache + base;
  const T* v_base = v_cache + base;
  const int64_t qkv_stride = static_cast<int64_t>(shape.n_heads + 2 * shape.n_kv_heads) * hd;
  const float scale = 1.0f / sqrtf(static_cast<float>(hd));
  for (int idx = tid; idx < kRep * hd; idx += blockDim.x) {
    const int r = idx / hd;
    q_s[idx] = r < n_rep ? qkv[row * qkv_stride + (g * n_rep + r) * hd + idx % hd] * scale : 0.0f;
  }
  __syncthreads();

  float* scores = scratch;  // [kRep][window]
  for (int j = tid; j < n_keys; j += blockDim.x) {
    const T* kp = k_base + ((lo + j) % shape.ring_slots) * hd;
    float acc[kRep] = {};
    for (int c = 0; c < hd; c += V) {
      float kf[V];
      load16(kp + c, kf);
#pragma unroll
      for (int r = 0; r < kRep; ++r) {
#pragma unroll
        for (int e = 0; e < V; ++e) acc[r] += q_s[r * hd + c + e] * kf[e];
      }
    }
#pragma unroll
    for (int r = 0; r < kRep; ++r) scores[r * shape.window + j] = acc[r];
  }
  __syncthreads();

  const int warp = tid / kWarp, lane = tid % kWarp;
  for (int r = warp; r < n_rep; r += kAttentionThreads / kWarp) {
    float* s = scores + r * shape.window;
    float m = -INFINITY;
    for (int j = lane; j < n_keys; j += kWarp) m = fmaxf(m, s[j]);
    m = warp_max(m);
    float sum = 0.0f;
    for (int j = lane; j < n_keys; j += kWarp) {
      const float e = expf(s[j] - m);
      s[j] = e;
      sum += e;
    }
    sum = warp_sum(sum);
    if (lane == 0) inv_sum[r] = 1.0f / sum;
  }
  __syncthreads();

  const int n_chunks = hd / V, n_groups = kAttentionThreads / n_chunks;
  const int chunk = tid % n_chunks, group = tid / n_chunks;
  float acc[kRep][V] = {};
  if (group < n_groups) {
    for (int j = group; j < n_keys; j += n_groups) {
      float vf[V];
      load16(v_base + ((lo + j) % shape.ring_slots) * hd + chunk * V, vf);
#pragma unroll
      for (int r = 0; r < kRep; ++r) {
        const float p = scores[r * shape.window + j];
#pragma unroll
        for (int e = 0; e < V; ++e) acc[r][e] += p * vf[e];
      }
    }
  }
  __syncthreads();  // scores are dead; scratch now holds partial sums [group][kRep][hd]
  if (group < n_groups) {
#pragma unroll
    for (int r = 0; r < kRep; ++r) {
#pragma unroll
      for (int e = 0; e < V; ++e) scratch[(group * kRep + r) * hd + chunk * V + e] = acc[r][e];
    }
  }
  __syncthreads();
  const int d_model = shape.n_heads * hd;
  for (int idx = tid; idx < n_rep * hd; idx += blockDim.x) {
    const int r = idx / hd, d = idx % hd;
    float sum = 0.0f;
    for (int gr = 0; gr < n_groups; ++gr) sum += scratch[(gr * kRep + r) * hd + d];
    out[static_cast<int64_t>(row) * d_model + (g * n_rep + r) * hd + d] =
        from_float<T>(sum * inv_sum[r]);
  }
}

template <typename T>
__global__ void silu_mul_kernel(const float* gate_up, int64_t total, int d_ff, T* out) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= total) return;
  const int64_t row = idx / d_ff, j = idx % d_ff;
  const float g = gate_up[row * 2 * d_ff + j];
  const float u = gate_up[row * 2 * d_ff + d_ff + j];
  out[idx] = from_float<T>(g / (1.0f + expf(-g)) * u);
}

template <typename T>
__global__ void convert_kernel(const float* in, int64_t n, T* out) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx < n) out[idx] = from_float<T>(in[idx]);
}

__global__ void probe_kernel(int* flag) { *flag = 1; }

int rep_bucket(int n_rep) { return n_rep <= 1 ? 1 : n_rep <= 2 ? 2 : n_rep <= 4 ? 4 : 8; }

template <typename T, int kRep>
cudaError_t launch_attention_rep(const float* qkv, RowMeta meta, int rows,
                                 const AttentionShape& shape, const T* k_cache, const T* v_cache,
                                 T* out, cudaStream_t stream) {
  const size_t smem = attention_smem_bytes(shape, sizeof(T));
  attention_kernel<T, kRep><<<dim3(rows, shape.n_kv_heads), kAttentionThreads, smem, stream>>>(
      qkv, meta, shape, k_cache, v_cache, out);
  return cudaGetLastError();
}

}  // namespace

size_t attention_smem_bytes(const AttentionShape& shape, int element_bytes) {
  const int rep = rep_bucket(shape.n_heads / shape.n_kv_heads);
  return sizeof(float) * AttentionSmem::of(shape, rep, 16 / element_bytes).total();
}

template <typename T>
cudaError_t prepare_attention(const AttentionShape& shape) {
  const int smem = static_cast<int>(attention_smem_bytes(shape, sizeof(T)));
  switch (rep_bucket(shape.n_heads / shape.n_kv_heads)) {
    case 1:
      return cudaFuncSetAttribute(attention_kernel<T, 1>,
                                  cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
    case 2:
      return cudaFuncSetAttribute(attention_kernel<T, 2>,
                                  cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
    case 4:
      return cudaFuncSetAttribute(attention_kernel<T, 4>,
                                  cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
    default:
      return cudaFuncSetAttribute(attention_kernel<T, 8>,
                                  cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  }
}

template <typename T>
cudaError_t launch_attention(const float* qkv, RowMeta meta, int rows, const AttentionShape& shape,
                             const T* k_cache, const T* v_cache, T* out, cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  switch (rep_bucket(shape.n_heads / shape.n_kv_heads)) {
    case 1:
      return launch_attention_rep<T, 1>(qkv, meta, rows, shape, k_cache, v_cache, out, stream);
    case 2:
      return launch_attention_rep<T, 2>(qkv, meta, rows, shape, k_cache, v_cache, out, stream);
    case 4:
      return launch_attention_rep<T, 4>(qkv, meta, rows, shape, k_cache, v_cache, out, stream);
    default:
      return launch_attention_rep<T, 8>(qkv, meta, rows, shape, k_cache, v_cache, out, stream);
  }
}

template <typename T>
cudaError_t launch_embed(const T* embedding, const int32_t* token, int rows, int d_model, float* x,
                         cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  embed_kernel<T><<<rows, 128, 0, stream>>>(embedding, token, d_model, x);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_rmsnorm(const float* x, const float* gain, int rows, int d, float eps, T* out,
                           cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  const int blocks = (rows + kNormRowsPerBlock - 1) / kNormRowsPerBlock;
  rmsnorm_kernel<T><<<blocks, kNormRowsPerBlock * kWarp, 0, stream>>>(x, gain, rows, d, eps, out);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_rope_append(float* qkv, RowMeta meta, int rows, const AttentionShape& shape,
                               T* k_cache, T* v_cache, cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  rope_append_kernel<T><<<rows, 128, 0, stream>>>(qkv, meta, shape, k_cache, v_cache);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_silu_mul(const float* gate_up, int rows, int d_ff, T* out, cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(rows) * d_ff;
  if (total == 0) return cudaSuccess;
  const int threads = 256;
  silu_mul_kernel<T>
      <<<static_cast<unsigned>((total + threads - 1) / threads), threads, 0, stream>>>(
          gate_up, total, d_ff, out);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_convert(const float* in, int64_t n, T* out, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  const int threads = 256;
  convert_kernel<T>
      <<<static_cast<unsigned>((n + threads - 1) / threads), threads, 0, stream>>>(in, n, out);
  return cudaGetLastError();
}

cudaError_t launch_probe_kernel(int* device_flag, cudaStream_t stream) {
  probe_kernel<<<1, 1, 0, stream>>>(device_flag);
  return cudaGetLastError();
}

#define JAMD_INSTANTIATE(T)                                                                       \
  template cudaError_t launch_embed<T>(const T*, const int32_t*, int, int, float*, cudaStream_t); \
  template cudaError_t launch_rmsnorm<T>(const float*, const float*, int, int, float, T*,         \
                                         cudaStream_t);                                           \
  template cudaError_t launch_rope_append<T>(float*, RowMeta, int, const AttentionShape&, T*, T*, \
                                             cudaStream_t);                                       \
  template cudaError_t launch_attention<T>(const float*, RowMeta, int, const AttentionShape&,     \
                                           const T*, const T*, T*, cudaStream_t);                 \
  template cudaError_t prepare_attention<T>(const AttentionShape&);                               \
  template cudaError_t launch_silu_mul<T>(const float*, int, int, T*, cudaStream_t);              \
  template cudaError_t launch_convert<T>(const float*, int64_t, T*, cudaStream_t);

JAMD_INSTANTIATE(float)
JAMD_INSTANTIATE(__half)
#undef JAMD_INSTANTIATE

}  // namespace jamd::models::cuda
