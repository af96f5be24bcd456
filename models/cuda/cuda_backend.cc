// CudaBackend: the Backend seam on one CUDA device. Streams are KV-ring slots; decode() pads the
// batch to a bucket and replays that bucket's captured CUDA graph; prefill() runs chunks.
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "models/cuda/cuda_backend_factory.h"
#include "models/cuda/cuda_handles.h"
#include "models/cuda/cuda_model.h"

namespace jamd::models {
namespace {

using cuda::DeviceModel;

// Batch buckets: powers of two up to 256 rows, then multiples of 256, so padding wastes at most
// half a small batch and under 256 rows of a large one, with few graphs to capture.
constexpr int32_t kPowerOfTwoBucketsUpTo = 256;
// Rows one prefill pass carries at most (also bounded by the ring's rollback room).
constexpr int32_t kPrefillChunkTokens = 256;

// JAMD_CUDA_TRACE=1 prints each phase to stderr (for hangs on a device under investigation).
void trace(const char* what, int64_t a = 0, int64_t b = 0) {
  static const bool on = std::getenv("JAMD_CUDA_TRACE") != nullptr;
  if (on)
    std::fprintf(stderr, "[jamd cuda] %s %lld %lld\n", what, static_cast<long long>(a),
                 static_cast<long long>(b));
}

// Host copies of logits at least this large are split over several threads: one core copies
// about 6 GB/s, so 16 MB of logits (10,240 jams) cost 2.5 ms alone (docs/cuda.md).
constexpr size_t kParallelCopyBytes = 4u << 20;
constexpr unsigned kMaxCopyThreads = 4;

void copy_logits(float* dst, const float* src, size_t n) {
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const unsigned parts = n * sizeof(float) < kParallelCopyBytes ? 1 : std::min(kMaxCopyThreads, hw);
  if (parts == 1) {
    std::memcpy(dst, src, n * sizeof(float));
    return;
  }
  std::vector<std::thread> helpers;
  const size_t per = (n + parts - 1) / parts;
  for (unsigned i = 1; i < parts; ++i) {
    const size_t begin = std::min(n, i * per), count = std::min(n, begin + per) - begin;
    helpers.emplace_back([=] { std::memcpy(dst + begin, src + begin, count * sizeof(float)); });
  }
  std::memcpy(dst, src, std::min(n, per) * sizeof(float));
  for (std::thread& t : helpers) t.join();
}

int32_t bucket_for(int32_t rows) {
  if (rows <= kPowerOfTwoBucketsUpTo) {
    int32_t b = 1;
    while (b < rows) b *= 2;
    return b;
  }
  return (rows + kPowerOfTwoBucketsUpTo - 1) / kPowerOfTwoBucketsUpTo * kPowerOfTwoBucketsUpTo;
}

class CudaBackend final : public Backend {
 public:
  CudaBackend(std::shared_ptr<const WeightFile> weights, const BackendOptions& options)
      : weights_(std::move(weights)), options_(options), config_(weights_->config()) {}

  absl::Status init(const std::string& device_description);

  const ModelConfig& config() const override { return config_; }
  BackendCaps caps() const override;
  absl::StatusOr<StreamId> open_stream() override;
  void close_stream(StreamId stream) override;
  int64_t stream_position(StreamId stream) const override;
  absl::Status truncate(StreamId stream, int64_t position) override;
  absl::Status prefill(StreamId stream, std::span<const int32_t> tokens,
                       std::span<float> last_logits) override;
  absl::Status decode(std::span<const DecodeStep> steps, std::span<float> logits) override;

  const CudaStepTiming& last_timing() const { return timing_; }
  // decode() without the host copy: the logits stay in the backend's pinned buffer.
  absl::StatusOr<std::span<const float>> decode_view(std::span<const DecodeStep> steps) override;

 private:
  bool is_open(StreamId s) const {
    return s >= 0 && s < options_.max_streams && open_[static_cast<size_t>(s)];
  }
  absl::Status check_token(int32_t token) const;
  // Copies rows [0, n) of the pinned metadata to the device.
  absl::Status upload_meta(int32_t n);
  absl::StatusOr<cudaGraphExec_t> graph_for(int32_t bucket);

  std::shared_ptr<const WeightFile> weights_;
  BackendOptions options_;
  ModelConfig config_;
  std::string description_;
  int32_t max_rows_ = 0;
  int32_t ring_slots_ = 0;
  int32_t prefill_chunk_ = 1;

  cuda::UniqueStream stream_;
  cuda::UniqueCublas cublas_;
  cuda::UniqueEvent ev_start_, ev_graph_done_, ev_copy_done_;
  std::unique_ptr<DeviceModel> model_;
  cuda::PinnedMemory pinned_meta_;    // stream int32[max_rows] | token int32[...] | pos int64[...]
  cuda::PinnedMemory pinned_logits_;  // max_rows x n_vocab floats
  std::unordered_map<int32_t, cuda::UniqueGraphExec> graphs_;

  std::vector<bool> open_;
  std::vector<int64_t> positions_;
  std::vector<StreamId> free_;        // free slots, lowest last
  std::vector<uint32_t> seen_stamp_;  // duplicate check in decode()
  uint32_t stamp_ = 0;
  CudaStepTiming timing_;

  int32_t* host_stream() const { return static_cast<int32_t*>(pinned_meta_.get()); }
  int32_t* host_token() const { return host_stream() + max_rows_; }
  int64_t* host_position() const { return reinterpret_cast<int64_t*>(host_token() + max_rows_); }
};

absl::Status CudaBackend::init(const std::string& device_description) {
  if (options_.max_streams <= 0 || options_.rollback_tokens < 0) {
    return absl::InvalidArgumentError(
        "CUDA backend: max_streams must be > 0, rollback_tokens >= 0");
  }
  const int n_rep = config_.n_heads / config_.n_kv_heads;
  if (config_.head_dim() % 8 != 0 || config_.head_dim() > 256 || n_rep > 8) {
    return absl::UnimplementedError(absl::StrCat(
        "CUDA backend supports head_dim a multiple of 8 up to 256 and at most 8 query heads per "
        "kv head; this model has head_dim ",
        config_.head_dim(), " and ", n_rep));
  }
  JAMD_CUDA_TRY(cudaSetDevice(options_.device_index));
  cudaStream_t s = nullptr;
  JAMD_CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  stream_.reset(s);
  cublasHandle_t h = nullptr;
  JAMD_CUBLAS_TRY(cublasCreate(&h));
  cublas_.reset(h);
  JAMD_CUBLAS_TRY(cublasSetStream(h, s));
  JAMD_CUBLAS_TRY(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));  // no TF32: fp32 parity
  for (cuda::UniqueEvent* e : {&ev_start_, &ev_graph_done_, &ev_copy_done_}) {
    cudaEvent_t ev = nullptr;
    JAMD_CUDA_TRY(cudaEventCreate(&ev));
    e->reset(ev);
  }
  ring_slots_ = config_.attention_window + options_.rollback_tokens;
  // A chunk may not overwrite ring slots that its own earliest query still reads.
  prefill_chunk_ = std::min(kPrefillChunkTokens, options_.rollback_tokens + 1);
  max_rows_ = std::max(bucket_for(options_.max_streams), prefill_chunk_);
  cuda::DeviceModelShape shape{max_rows_, options_.max_streams + 1, ring_slots_};
  trace("init: creating the device model", max_rows_, ring_slots_);
  auto model = DeviceModel::create(*weights_, options_.precision, shape, stream_.get(), h);
  if (!model.ok()) return model.status();
  model_ = std::move(*model);
  trace("init: device model ready");
  if (absl::Status st =
          cuda::allocate_pinned(static_cast<size_t>(max_rows_) * 16, "row metadata", &pinned_meta_);
      !st.ok()) {
    return st;
  }
  if (absl::Status st =
          cuda::allocate_pinned(static_cast<size_t>(max_rows_) * config_.n_vocab * sizeof(float),
                                "logits", &pinned_logits_);
      !st.ok()) {
    return st;
  }
  open_.assign(static_cast<size_t>(options_.max_streams), false);
  positions_.assign(static_cast<size_t>(options_.max_streams), 0);
  seen_stamp_.assign(static_cast<size_t>(options_.max_streams), 0);
  for (StreamId i = options_.max_streams - 1; i >= 0; --i) free_.push_back(i);
  description_ = absl::StrFormat(
      "%s; %s weights and KV; %d streams x %.2f MiB KV; weights %.1f MiB", device_description,
      options_.precision == Precision::kReduced ? "fp16" : "fp32", options_.max_streams,
      static_cast<double>(model_->kv_bytes_per_stream()) / (1 << 20),
      static_cast<double>(model_->weight_bytes()) / (1 << 20));
  return absl::OkStatus();
}

BackendCaps CudaBackend::caps() const {
  BackendCaps c;
  c.name = "cuda";
  c.description = description_;
  c.precision = options_.precision;
  c.batched_decode = true;
  c.max_streams = options_.max_streams;
  c.bytes_per_stream = model_->kv_bytes_per_stream();
  return c;
}

absl::StatusOr<StreamId> CudaBackend::open_stream() {
  if (free_.empty()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "all ", options_.max_streams, " CUDA streams are open; close one or raise max_streams"));
  }
  const StreamId s = free_.back();
  free_.pop_back();
  open_[static_cast<size_t>(s)] = true;
  positions_[static_cast<size_t>(s)] = 0;
  return s;
}

void CudaBackend::close_stream(StreamId stream) {
  if (!is_open(stream)) return;
  open_[static_cast<size_t>(stream)] = false;
  free_.push_back(stream);
}

int64_t CudaBackend::stream_position(StreamId stream) const {
  return is_open(stream) ? positions_[static_cast<size_t>(stream)] : 0;
}

absl::Status CudaBackend::truncate(StreamId stream, int64_t position) {
  if (!is_open(stream))
    return absl::InvalidArgumentError(absl::StrCat("stream ", stream, " is not open"));
  const int64_t now = positions_[static_cast<size_t>(stream)];
  if (position < 0 || position > now) {
    return absl::InvalidArgumentError(
        absl::StrCat("truncate to ", position, ": stream ", stream, " is at ", now));
  }
  if (now - position > options_.rollback_tokens) {
    return absl::OutOfRangeError(absl::StrCat(
        "truncate back ", now - position, " tokens: the KV ring keeps only ",
        options_.rollback_tokens, " (rollback_tokens); open a new stream and prefill it"));
  }
  positions_[static_cast<size_t>(stream)] = position;
  return absl::OkStatus();
}

absl::Status CudaBackend::check_token(int32_t token) const {
  if (token < 0 || token >= config_.n_vocab) {
    return absl::InvalidArgumentError(
        absl::StrCat("token ", token, " is outside the vocabulary [0, ", config_.n_vocab, ")"));
  }
  return absl::OkStatus();
}

absl::Status CudaBackend::upload_meta(int32_t n) {
  cudaStream_t s = stream_.get();
  JAMD_CUDA_TRY(cudaMemcpyAsync(model_->meta_stream(), host_stream(), n * sizeof(int32_t),
                                cudaMemcpyHostToDevice, s));
  JAMD_CUDA_TRY(cudaMemcpyAsync(model_->meta_token(), host_token(), n * sizeof(int32_t),
                                cudaMemcpyHostToDevice, s));
  JAMD_CUDA_TRY(cudaMemcpyAsync(model_->meta_position(), host_position(), n * sizeof(int64_t),
                                cudaMemcpyHostToDevice, s));
  return absl::OkStatus();
}

absl::Status CudaBackend::prefill(StreamId stream, std::span<const int32_t> tokens,
                                  std::span<float> last_logits) {
  if (!is_open(stream))
    return absl::InvalidArgumentError(absl::StrCat("stream ", stream, " is not open"));
  const bool want_logits = !last_logits.empty();
  if (want_logits &&
      (tokens.empty() || last_logits.size() < static_cast<size_t>(config_.n_vocab))) {
    return absl::InvalidArgumentError("prefill: logits need at least one token and n_vocab floats");
  }
  for (int32_t t : tokens) {
    if (absl::Status s = check_token(t); !s.ok()) return s;
  }
  int64_t& pos = positions_[static_cast<size_t>(stream)];
  for (size_t begin = 0; begin < tokens.size(); begin += static_cast<size_t>(prefill_chunk_)) {
    const int32_t n =
        static_cast<int32_t>(std::min(tokens.size() - begin, static_cast<size_t>(prefill_chunk_)));
    const bool last = begin + static_cast<size_t>(n) == tokens.size();
    for (int32_t i = 0; i < n; ++i) {
      host_stream()[i] = stream;
      host_token()[i] = tokens[begin + static_cast<size_t>(i)];
      host_position()[i] = pos + i;
    }
    trace("prefill chunk", stream, n);
    if (absl::Status s = upload_meta(n); !s.ok()) return s;
    const int logit_rows = last && want_logits ? 1 : 0;
    if (absl::Status s = model_->enqueue_forward(n, n - 1, logit_rows); !s.ok()) return s;
    if (logit_rows == 1) {
      JAMD_CUDA_TRY(cudaMemcpyAsync(pinned_logits_.get(), model_->logits(),
                                    config_.n_vocab * sizeof(float), cudaMemcpyDeviceToHost,
                                    stream_.get()));
    }
    // The pinned metadata is rewritten by the next chunk.
    JAMD_CUDA_TRY(cudaStreamSynchronize(stream_.get()));
    pos += n;
  }
  if (want_logits) {
    std::memcpy(last_logits.data(), pinned_logits_.get(), config_.n_vocab * sizeof(float));
  }
  return absl::OkStatus();
}

absl::StatusOr<cudaGraphExec_t> CudaBackend::graph_for(int32_t bucket) {
  if (auto it = graphs_.find(bucket); it != graphs_.end()) return it->second.get();
  trace("capturing the decode graph for rows", bucket);
  cudaStream_t s = stream_.get();
  JAMD_CUDA_TRY(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  const absl::Status enqueued = model_->enqueue_forward(bucket, 0, bucket);
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(s, &graph);
  cuda::UniqueGraph owned(graph);
  if (!enqueued.ok()) return enqueued;
  JAMD_CUDA_TRY(ended);
  cudaGraphExec_t exec = nullptr;
  JAMD_CUDA_TRY(cudaGraphInstantiate(&exec, graph, 0));
  graphs_[bucket].reset(exec);
  return exec;
}

absl::Status CudaBackend::decode(std::span<const DecodeStep> steps, std::span<float> logits) {
  const size_t n = steps.size();
  if (logits.size() < n * static_cast<size_t>(config_.n_vocab)) {
    return absl::InvalidArgumentError(absl::StrCat("decode: logits hold ", logits.size(),
                                                   " floats; ", n, " steps need ",
                                                   n * static_cast<size_t>(config_.n_vocab)));
  }
  absl::StatusOr<std::span<const float>> pinned = decode_view(steps);
  if (!pinned.ok()) return pinned.status();
  // The seam wants the caller's buffer: one more host copy (decode_view() avoids it).
  copy_logits(logits.data(), pinned->data(), pinned->size());
  return absl::OkStatus();
}

absl::StatusOr<std::span<const float>> CudaBackend::decode_view(std::span<const DecodeStep> steps) {
  const int32_t n = static_cast<int32_t>(steps.size());
  if (n == 0) return std::span<const float>();
  ++stamp_;
  for (const DecodeStep& st : steps) {
    if (!is_open(st.stream)) {
      return absl::InvalidArgumentError(absl::StrCat("decode: stream ", st.stream, " is not open"));
    }
    if (seen_stamp_[static_cast<size_t>(st.stream)] == stamp_) {
      return absl::InvalidArgumentError(
          absl::StrCat("decode: stream ", st.stream, " appears twice in one step"));
    }
    seen_stamp_[static_cast<size_t>(st.stream)] = stamp_;
    if (absl::Status s = check_token(st.token); !s.ok()) return s;
  }
  const int32_t bucket = bucket_for(n);
  for (int32_t i = 0; i < bucket; ++i) {
    const bool real = i < n;
    const StreamId s = real ? steps[static_cast<size_t>(i)].stream : options_.max_streams;
    host_stream()[i] = s;
    host_token()[i] = real ? steps[static_cast<size_t>(i)].token : 0;
    host_position()[i] = real ? positions_[static_cast<size_t>(s)] : 0;
  }
  absl::StatusOr<cudaGraphExec_t> graph = graph_for(bucket);
  if (!graph.ok()) return graph.status();
  cudaStream_t cs = stream_.get();
  if (absl::Status s = upload_meta(bucket); !s.ok()) return s;
  JAMD_CUDA_TRY(cudaEventRecord(ev_start_.get(), cs));
  JAMD_CUDA_TRY(cudaGraphLaunch(*graph, cs));
  JAMD_CUDA_TRY(cudaEventRecord(ev_graph_done_.get(), cs));
  const size_t logit_bytes = static_cast<size_t>(n) * config_.n_vocab * sizeof(float);
  JAMD_CUDA_TRY(cudaMemcpyAsync(pinned_logits_.get(), model_->logits(), logit_bytes,
                                cudaMemcpyDeviceToHost, cs));
  JAMD_CUDA_TRY(cudaEventRecord(ev_copy_done_.get(), cs));
  trace("decode: waiting", n, bucket);
  JAMD_CUDA_TRY(cudaStreamSynchronize(cs));
  for (const DecodeStep& st : steps) ++positions_[static_cast<size_t>(st.stream)];
  float graph_ms = 0, copy_ms = 0;
  JAMD_CUDA_TRY(cudaEventElapsedTime(&graph_ms, ev_start_.get(), ev_graph_done_.get()));
  JAMD_CUDA_TRY(cudaEventElapsedTime(&copy_ms, ev_graph_done_.get(), ev_copy_done_.get()));
  timing_ = CudaStepTiming{bucket, graph_ms, copy_ms};
  return std::span<const float>(static_cast<const float*>(pinned_logits_.get()),
                                logit_bytes / sizeof(float));
}

}  // namespace

absl::StatusOr<std::string> probe_cuda_device(int device_index) {
  int count = 0;
  if (cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess) {
    cudaGetLastError();
    return absl::UnavailableError(absl::StrCat("cudaGetDeviceCount: ", cudaGetErrorString(e)));
  }
  if (device_index < 0 || device_index >= count) {
    return absl::UnavailableError(
        absl::StrCat("CUDA device ", device_index, " does not exist (", count, " present)"));
  }
  cudaDeviceProp prop{};
  if (cudaError_t e = cudaGetDeviceProperties(&prop, device_index); e != cudaSuccess) {
    return absl::UnavailableError(absl::StrCat("cudaGetDeviceProperties: ", cudaGetErrorString(e)));
  }
  if (cudaError_t e = cudaSetDevice(device_index); e != cudaSuccess) {
    return absl::UnavailableError(absl::StrCat("cudaSetDevice: ", cudaGetErrorString(e)));
  }
  // A kernel launch proves the driver is new enough and the binary holds code for this GPU.
  int* flag = nullptr;
  cudaError_t e = cudaMalloc(&flag, sizeof(int));
  if (e == cudaSuccess) e = cuda::launch_probe_kernel(flag, nullptr);
  if (e == cudaSuccess) e = cudaDeviceSynchronize();
  if (flag != nullptr) cudaFree(flag);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return absl::UnavailableError(absl::StrCat("a test kernel failed on ", prop.name, " (sm_",
                                               prop.major, prop.minor,
                                               "): ", cudaGetErrorString(e)));
  }
  return absl::StrFormat("%s, sm_%d%d, %d GiB", prop.name, prop.major, prop.minor,
                         static_cast<int>(prop.totalGlobalMem >> 30));
}

absl::StatusOr<std::unique_ptr<Backend>> make_cuda_backend(
    std::shared_ptr<const WeightFile> weights, const BackendOptions& options) {
  if (weights == nullptr) return absl::InvalidArgumentError("make_cuda_backend: no weights");
  absl::StatusOr<std::string> device = probe_cuda_device(options.device_index);
  if (!device.ok()) return device.status();
  auto backend = std::make_unique<CudaBackend>(std::move(weights), options);
  if (absl::Status s = backend->init(*device); !s.ok()) return s;
  return backend;
}

absl::StatusOr<CudaStepTiming> cuda_last_step_timing(const Backend& backend) {
  const auto* cuda = dynamic_cast<const CudaBackend*>(&backend);
  if (cuda == nullptr) return absl::InvalidArgumentError("not a CUDA backend");
  return cuda->last_timing();
}

}  // namespace jamd::models
