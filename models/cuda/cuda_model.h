// The model on the device: weights uploaded once (fused QKV and gate/up), every stream's KV
// ring, the activation buffers, and one batched forward pass enqueued on a CUDA stream.
//
//   auto model = DeviceModel::create(*weights, Precision::kReduced, shape, stream, cublas);
//   // write rows' stream/position/token into model->meta_*() (device), then:
//   model->enqueue_forward(rows, /*logits_row_begin=*/0, /*logits_rows=*/rows);
//   // model->logits() holds logits_rows x n_vocab floats once the stream reaches here.
//
// Thread safety: one thread (the backend's owner). enqueue_forward() only enqueues work, so it
// can be captured into a CUDA graph; it reads the row metadata when the work runs.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "models/cuda/cuda_handles.h"
#include "models/cuda/cuda_kernels.h"
#include "models/engine/backend.h"
#include "models/engine/weight_file.h"

namespace jamd::models::cuda {

struct DeviceModelShape {
  int32_t max_rows = 0;      // rows one forward pass may carry
  int32_t stream_slots = 0;  // KV rings held (open streams + the padding slot)
  int32_t ring_slots = 0;    // positions per ring: attention_window + rollback_tokens
};

class DeviceModel {
 public:
  static absl::StatusOr<std::unique_ptr<DeviceModel>> create(const WeightFile& weights,
                                                             Precision precision,
                                                             const DeviceModelShape& shape,
                                                             cudaStream_t stream,
                                                             cublasHandle_t cublas);

  // Runs the network over `rows` rows (metadata in meta_*()), appending each row's K/V to its
  // stream's ring, and writes logits for rows [logits_row_begin, +logits_rows) to logits().
  absl::Status enqueue_forward(int rows, int logits_row_begin, int logits_rows);

  int32_t* meta_stream() const { return static_cast<int32_t*>(meta_stream_.get()); }
  int64_t* meta_position() const { return static_cast<int64_t*>(meta_position_.get()); }
  int32_t* meta_token() const { return static_cast<int32_t*>(meta_token_.get()); }
  const float* logits() const { return static_cast<const float*>(logits_.get()); }

  int64_t kv_bytes_per_stream() const;
  int64_t weight_bytes() const { return weight_bytes_; }
  int element_bytes() const { return element_bytes_; }

 private:
  DeviceModel() = default;
  absl::Status upload(const WeightFile& weights);
  absl::Status allocate_buffers();
  template <typename T>
  absl::Status forward(int rows, int logits_row_begin, int logits_rows);
  absl::Status gemm(const void* w, int n_out, int n_in, const void* x, int rows, float* y,
                    float beta);
  absl::Status upload_tensor(const float* host, int64_t elements, void* device, float* staging);

  struct Layer {
    DeviceMemory attn_norm, ffn_norm;          // float gains
    DeviceMemory wqkv, wo, w_gate_up, w_down;  // storage type
  };

  ModelConfig config_;
  DeviceModelShape shape_;
  AttentionShape attention_;
  bool reduced_ = false;
  int element_bytes_ = 4;
  cudaStream_t stream_ = nullptr;    // not owned
  cublasHandle_t cublas_ = nullptr;  // not owned
  int64_t weight_bytes_ = 0;

  DeviceMemory tok_embedding_, final_norm_, output_;  // output_ empty when tied
  std::vector<Layer> layers_;
  DeviceMemory k_cache_, v_cache_;  // [layer][stream][kv_head][ring_slot][head_dim]
  DeviceMemory meta_stream_, meta_position_, meta_token_;
  DeviceMemory x_, normed_, qkv_, attn_, gate_up_, ffn_hidden_, logits_;
  DeviceMemory cublas_workspace_;
};

}  // namespace jamd::models::cuda
