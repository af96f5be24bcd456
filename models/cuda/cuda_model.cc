// DeviceModel: weight upload (fused QKV and gate/up products), KV rings, activation buffers and
// the batched forward pass (cuBLAS for the products, cuda_kernels.cu for the rest).
#include "models/cuda/cuda_model.h"

#include <cuda_fp16.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace jamd::models::cuda {
namespace {

// cuBLAS's own scratch, set explicitly so graph capture never allocates (cuBLAS docs advise
// a workspace for capture; 32 MiB covers its Hopper kernels).
constexpr size_t kCublasWorkspaceBytes = 32u << 20;

template <typename T>
T* as(const DeviceMemory& m) {
  return static_cast<T*>(m.get());
}

}  // namespace

absl::StatusOr<std::unique_ptr<DeviceModel>> DeviceModel::create(const WeightFile& weights,
                                                                 Precision precision,
                                                                 const DeviceModelShape& shape,
                                                                 cudaStream_t stream,
                                                                 cublasHandle_t cublas) {
  std::unique_ptr<DeviceModel> m(new DeviceModel());
  m->config_ = weights.config();
  m->shape_ = shape;
  m->reduced_ = precision == Precision::kReduced;
  m->element_bytes_ = m->reduced_ ? 2 : 4;
  m->stream_ = stream;
  m->cublas_ = cublas;
  const ModelConfig& c = m->config_;
  m->attention_ =
      AttentionShape{c.n_heads,          c.n_kv_heads,     c.head_dim(),
                     c.attention_window, shape.ring_slots, static_cast<double>(c.rope_theta)};
  const cudaError_t prep = m->reduced_ ? prepare_attention<__half>(m->attention_)
                                       : prepare_attention<float>(m->attention_);
  if (prep != cudaSuccess) {
    cudaGetLastError();
    return absl::UnimplementedError(absl::StrCat(
        "CUDA attention needs ", attention_smem_bytes(m->attention_, m->element_bytes_) >> 10,
        " KiB of shared memory for attention_window ", c.attention_window,
        ", more than this device allows (", cudaGetErrorString(prep), ")"));
  }
  if (absl::Status s = m->upload(weights); !s.ok()) return s;
  if (absl::Status s = m->allocate_buffers(); !s.ok()) return s;
  return m;
}

int64_t DeviceModel::kv_bytes_per_stream() const {
  return 2LL * config_.n_layers * ring_elements(attention_) * element_bytes_;
}

absl::Status DeviceModel::upload_tensor(const float* host, int64_t elements, void* device,
                                        float* staging) {
  const size_t bytes = static_cast<size_t>(elements) * sizeof(float);
  if (!reduced_) {
    JAMD_CUDA_TRY(cudaMemcpyAsync(device, host, bytes, cudaMemcpyHostToDevice, stream_));
    return absl::OkStatus();
  }
  JAMD_CUDA_TRY(cudaMemcpyAsync(staging, host, bytes, cudaMemcpyHostToDevice, stream_));
  JAMD_CUDA_TRY(launch_convert<__half>(staging, elements, static_cast<__half*>(device), stream_));
  // The staging buffer is reused by the next tensor.
  JAMD_CUDA_TRY(cudaStreamSynchronize(stream_));
  return absl::OkStatus();
}

absl::Status DeviceModel::upload(const WeightFile& weights) {
  const ModelConfig& c = config_;
  const int64_t d = c.d_model, kv = c.kv_dim(), ff = c.d_ff, v = c.n_vocab;
  const int64_t largest = std::max({v * d, (d + 2 * kv) * d, 2 * ff * d});
  DeviceMemory staging;
  if (absl::Status s = allocate_device(largest * sizeof(float), "weight staging", &staging);
      !s.ok()) {
    return s;
  }
  float* stage = as<float>(staging);
  auto weight = [&](int64_t elements, const char* what, DeviceMemory* out) {
    weight_bytes_ += elements * element_bytes_;
    return allocate_device(elements * element_bytes_, what, out);
  };
  auto gain = [&](const float* host, DeviceMemory* out) -> absl::Status {
    weight_bytes_ += d * 4;
    if (absl::Status s = allocate_device(d * sizeof(float), "norm gains", out); !s.ok()) return s;
    JAMD_CUDA_TRY(cudaMemcpy(out->get(), host, d * sizeof(float), cudaMemcpyHostToDevice));
    return absl::OkStatus();
  };
  auto put = [&](const float* host, int64_t elements, const DeviceMemory& dst, int64_t at) {
    char* base = static_cast<char*>(dst.get()) + at * element_bytes_;
    return upload_tensor(host, elements, base, stage);
  };
#define JAMD_TRY(expr) \
  if (absl::Status s_ = (expr); !s_.ok()) return s_
  JAMD_TRY(weight(v * d, "token embedding", &tok_embedding_));
  JAMD_TRY(put(weights.tok_embedding(), v * d, tok_embedding_, 0));
  layers_.resize(static_cast<size_t>(c.n_layers));
  for (int i = 0; i < c.n_layers; ++i) {
    const LayerWeights& w = weights.layer(i);
    Layer& l = layers_[static_cast<size_t>(i)];
    JAMD_TRY(gain(w.attn_norm, &l.attn_norm));
    JAMD_TRY(gain(w.ffn_norm, &l.ffn_norm));
    JAMD_TRY(weight((d + 2 * kv) * d, "wq|wk|wv", &l.wqkv));
    JAMD_TRY(put(w.wq, d * d, l.wqkv, 0));
    JAMD_TRY(put(w.wk, kv * d, l.wqkv, d * d));
    JAMD_TRY(put(w.wv, kv * d, l.wqkv, (d + kv) * d));
    JAMD_TRY(weight(d * d, "wo", &l.wo));
    JAMD_TRY(put(w.wo, d * d, l.wo, 0));
    JAMD_TRY(weight(2 * ff * d, "w_gate|w_up", &l.w_gate_up));
    JAMD_TRY(put(w.w_gate, ff * d, l.w_gate_up, 0));
    JAMD_TRY(put(w.w_up, ff * d, l.w_gate_up, ff * d));
    JAMD_TRY(weight(d * ff, "w_down", &l.w_down));
    JAMD_TRY(put(w.w_down, d * ff, l.w_down, 0));
  }
  JAMD_TRY(gain(weights.final_norm(), &final_norm_));
  if (!c.tied_output) {
    JAMD_TRY(weight(v * d, "output projection", &output_));
    JAMD_TRY(put(weights.output(), v * d, output_, 0));
  }
#undef JAMD_TRY
  JAMD_CUDA_TRY(cudaStreamSynchronize(stream_));
  return absl::OkStatus();
}

absl::Status DeviceModel::allocate_buffers() {
  const ModelConfig& c = config_;
  const int64_t rows = shape_.max_rows, d = c.d_model, ff = c.d_ff;
  const int64_t qkv_width = d + 2 * c.kv_dim();
  const int64_t kv_bytes = kv_bytes_per_stream() / 2 * shape_.stream_slots;
  struct Need {
    DeviceMemory* out;
    int64_t bytes;
    const char* what;
  };
  const Need needs[] = {
      {&k_cache_, kv_bytes, "the K caches"},
      {&v_cache_, kv_bytes, "the V caches"},
      {&meta_stream_, rows * 4, "row metadata"},
      {&meta_position_, rows * 8, "row metadata"},
      {&meta_token_, rows * 4, "row metadata"},
      {&x_, rows * d * 4, "activations"},
      {&normed_, rows * std::max(d, ff) * element_bytes_, "activations"},
      {&qkv_, rows * qkv_width * 4, "activations"},
      {&attn_, rows * d * element_bytes_, "activations"},
      {&gate_up_, rows * 2 * ff * 4, "activations"},
      {&ffn_hidden_, rows * ff * element_bytes_, "activations"},
      {&logits_, rows * c.n_vocab * 4, "logits"},
      {&cublas_workspace_, static_cast<int64_t>(kCublasWorkspaceBytes), "cuBLAS workspace"},
  };
  for (const Need& n : needs) {
    if (absl::Status s = allocate_device(static_cast<size_t>(n.bytes), n.what, n.out); !s.ok()) {
      return s;
    }
  }
  // Zeroed caches keep the padding slot's reads finite.
  JAMD_CUDA_TRY(cudaMemsetAsync(k_cache_.get(), 0, kv_bytes, stream_));
  JAMD_CUDA_TRY(cudaMemsetAsync(v_cache_.get(), 0, kv_bytes, stream_));
  JAMD_CUDA_TRY(cudaMemsetAsync(meta_stream_.get(), 0, rows * 4, stream_));
  JAMD_CUDA_TRY(cudaMemsetAsync(meta_position_.get(), 0, rows * 8, stream_));
  JAMD_CUDA_TRY(cudaMemsetAsync(meta_token_.get(), 0, rows * 4, stream_));
  JAMD_CUBLAS_TRY(cublasSetWorkspace(cublas_, cublas_workspace_.get(), kCublasWorkspaceBytes));
  JAMD_CUDA_TRY(cudaStreamSynchronize(stream_));
  return absl::OkStatus();
}

// y[rows, n_out] (+)= x[rows, n_in] W^T with W row-major [n_out, n_in]. cuBLAS is column-major:
// W is then an n_in x n_out matrix used transposed. Float32 math stays off TF32 (the handle's
// default math mode) so kFloat32 matches the CPU within 1e-4.
absl::Status DeviceModel::gemm(const void* w, int n_out, int n_in, const void* x, int rows,
                               float* y, float beta) {
  const float alpha = 1.0f;
  const cudaDataType_t in_type = reduced_ ? CUDA_R_16F : CUDA_R_32F;
  JAMD_CUBLAS_TRY(cublasGemmEx(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, n_out, rows, n_in, &alpha, w,
                               in_type, n_in, x, in_type, n_in, &beta, y, CUDA_R_32F, n_out,
                               CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  return absl::OkStatus();
}

absl::Status DeviceModel::enqueue_forward(int rows, int logits_row_begin, int logits_rows) {
  if (rows <= 0 || rows > shape_.max_rows || logits_row_begin < 0 ||
      logits_row_begin + logits_rows > rows) {
    return absl::InvalidArgumentError(absl::StrCat("enqueue_forward: bad rows ", rows, " / ",
                                                   logits_row_begin, "+", logits_rows));
  }
  return reduced_ ? forward<__half>(rows, logits_row_begin, logits_rows)
                  : forward<float>(rows, logits_row_begin, logits_rows);
}

template <typename T>
absl::Status DeviceModel::forward(int rows, int logits_row_begin, int logits_rows) {
  const ModelConfig& c = config_;
  const int d = c.d_model, ff = c.d_ff, qkv_width = d + 2 * c.kv_dim();
  const float eps = c.norm_eps;
  const RowMeta meta{meta_stream(), meta_position(), meta_token()};
  const int64_t layer_kv = ring_elements(attention_) * shape_.stream_slots;
  T* normed = as<T>(normed_);
  float* x = as<float>(x_);
  float* qkv = as<float>(qkv_);
  JAMD_CUDA_TRY(launch_embed<T>(as<T>(tok_embedding_), meta.token, rows, d, x, stream_));
  for (int i = 0; i < c.n_layers; ++i) {
    const Layer& l = layers_[static_cast<size_t>(i)];
    T* k_cache = as<T>(k_cache_) + i * layer_kv;
    T* v_cache = as<T>(v_cache_) + i * layer_kv;
    JAMD_CUDA_TRY(launch_rmsnorm<T>(x, as<float>(l.attn_norm), rows, d, eps, normed, stream_));
    if (absl::Status s = gemm(l.wqkv.get(), qkv_width, d, normed, rows, qkv, 0.0f); !s.ok()) {
      return s;
    }
    JAMD_CUDA_TRY(launch_rope_append<T>(qkv, meta, rows, attention_, k_cache, v_cache, stream_));
    JAMD_CUDA_TRY(
        launch_attention<T>(qkv, meta, rows, attention_, k_cache, v_cache, as<T>(attn_), stream_));
    if (absl::Status s = gemm(l.wo.get(), d, d, attn_.get(), rows, x, 1.0f); !s.ok()) return s;
    JAMD_CUDA_TRY(launch_rmsnorm<T>(x, as<float>(l.ffn_norm), rows, d, eps, normed, stream_));
    if (absl::Status s =
            gemm(l.w_gate_up.get(), 2 * ff, d, normed, rows, as<float>(gate_up_), 0.0f);
        !s.ok()) {
      return s;
    }
    JAMD_CUDA_TRY(launch_silu_mul<T>(as<float>(gate_up_), rows, ff, as<T>(ffn_hidden_), stream_));
    if (absl::Status s = gemm(l.w_down.get(), d, ff, ffn_hidden_.get(), rows, x, 1.0f); !s.ok()) {
      return s;
    }
  }
  if (logits_rows == 0) return absl::OkStatus();
  JAMD_CUDA_TRY(launch_rmsnorm<T>(x + static_cast<int64_t>(logits_row_begin) * d,
                                  as<float>(final_norm_), logits_rows, d, eps, normed, stream_));
  const void* out_w = c.tied_output ? tok_embedding_.get() : output_.get();
  return gemm(out_w, c.n_vocab, d, normed, logits_rows, as<float>(logits_), 0.0f);
}

}  // namespace jamd::models::cuda
