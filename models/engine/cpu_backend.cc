// The CPU backend: the float32 reference implementation of docs/model-format.md, with a KV ring
// per stream (attention_window + rollback_tokens positions) so a jam can run for hours.
// Design notes: docs/engine.md.
#include "models/engine/cpu_backend.h"

#include <sys/mman.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "models/engine/cpu_kernels.h"
#include "models/engine/thread_pool.h"

namespace jamd::models {
namespace {

// Prefill feeds at most this many tokens per forward pass: enough rows for the matrix-matrix
// kernels to reuse each weight tile, little enough scratch memory.
constexpr int32_t kMaxPrefillChunk = 64;
// Multiply-adds below which a matrix product runs on the calling thread alone: waking a worker
// costs about as much as this much work.
constexpr int64_t kMinParallelMacs = 1 << 15;
// Parts per thread in a parallel job: a few, so a thread that was descheduled on a busy machine
// leaves work the others can claim.
constexpr int kPartsPerThread = 4;
// Query heads per kv head the attention supports (stack arrays); checked at creation.
constexpr int kMaxGroup = 64;

// Anonymous memory advised for transparent huge pages, for the backend's own copies of the
// weights: a decode step streams all of them, and with 4 KiB pages every 4 KiB costs a TLB miss
// (huge pages made the one-row product ~20 % faster on the team VM). mmap's pages are aligned
// far beyond the 64 bytes of a cache line.
class HugeBuffer {
 public:
  static constexpr size_t kHugePageBytes = size_t{2} << 20;  // x86-64 transparent huge pages
  HugeBuffer() = default;
  // data() is null when the memory could not be mapped.
  explicit HugeBuffer(size_t bytes) {
    if (bytes == 0) return;
    // Whole huge pages on a huge-page boundary: an unaligned block kept its first and last
    // partial 2 MiB in 4 KiB pages (3.5 of 11.5 MiB for the bundled model).
    const size_t size = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
    void* p = mmap(nullptr, size + kHugePageBytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    const auto start = reinterpret_cast<uintptr_t>(p);
    const uintptr_t aligned = (start + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
    if (aligned > start) munmap(p, aligned - start);
    if (const size_t tail = start + kHugePageBytes - aligned; tail > 0) {
      munmap(reinterpret_cast<void*>(aligned + size), tail);
    }
    madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);  // advice: fine if refused
    data_ = reinterpret_cast<std::byte*>(aligned);
    bytes_ = size;
  }
  ~HugeBuffer() {
    if (data_ != nullptr) munmap(data_, bytes_);
  }
  HugeBuffer(HugeBuffer&& o) noexcept : data_(std::exchange(o.data_, nullptr)), bytes_(o.bytes_) {}
  HugeBuffer& operator=(HugeBuffer&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(bytes_, o.bytes_);
    return *this;
  }
  std::byte* data() const { return data_; }

 private:
  std::byte* data_ = nullptr;
  size_t bytes_ = 0;
};

// One token of one stream in a forward pass.
struct Row {
  int32_t stream = 0;
  int64_t position = 0;
  int32_t token = 0;
};

class CpuBackend final : public Backend {
 public:
  CpuBackend(std::shared_ptr<const WeightFile> weights, const BackendOptions& options,
             const cpu::Kernels& kernels, int n_threads);
  // Float32 panels, or bfloat16 copies (kReduced), of every matrix; decides reduced_.
  // Called once after construction, before any stream opens; RESOURCE_EXHAUSTED when the copies do
  // not fit in memory.
  absl::Status prepare_matrices();

  const ModelConfig& config() const override { return config_; }
  BackendCaps caps() const override;
  absl::StatusOr<StreamId> open_stream() override;
  void close_stream(StreamId stream) override;
  int64_t stream_position(StreamId stream) const override;
  absl::Status truncate(StreamId stream, int64_t position) override;
  absl::Status prefill(StreamId stream, std::span<const int32_t> tokens,
                       std::span<float> last_logits) override;
  absl::Status decode(std::span<const DecodeStep> steps, std::span<float> logits) override;

 private:
  struct Stream {
    bool open = false;
    int64_t position = 0;
    // Keys then values for each layer, each kv head's ring contiguous (the attention kernels
    // then stream one block per head): [n_layers][2][n_kv_heads][ring_positions_ * head_dim],
    // keys in blocks (cpu_kernels.h, kKeyBlock), values a row per slot. Float32, or bfloat16
    // in kv16 with kReduced: half the bytes that many streams' attention reads.
    std::vector<float> kv;
    std::vector<uint16_t> kv16;
  };

  absl::Status check_stream(StreamId stream) const;
  absl::Status check_token(int32_t token) const;
  float* keys(Stream& s, int layer) {
    return s.kv.data() + static_cast<size_t>(layer) * 2 * ring_floats_;
  }
  float* values(Stream& s, int layer) { return keys(s, layer) + ring_floats_; }
  uint16_t* keys16(Stream& s, int layer) {
    return s.kv16.data() + static_cast<size_t>(layer) * 2 * ring_floats_;
  }
  uint16_t* values16(Stream& s, int layer) { return keys16(s, layer) + ring_floats_; }

  // Runs rows (each stream's rows at consecutive positions, in order) through the network and
  // writes logits for the last n_logit_rows rows to logits (may be null).
  void forward(std::span<const Row> rows, int64_t n_logit_rows, float* logits);
  void rotate(float* vec, int n_heads, const float* cos_sin) const;
  void attention(std::span<const Row> rows, int layer);
  // Attention of row r's query heads that read kv_head; scores holds score_floats_ floats.
  void attend(int64_t r, const Row& row, int layer, int kv_head, float* scores);
  // One matrix in the form the kernels read: float32 panels, or bfloat16 panels (kReduced).
  struct Matrix {
    const float* packed = nullptr;
    const uint16_t* w16 = nullptr;
  };
  // wq, wk and wv stacked into one [d_model + 2 kv_dim, d_model] matrix, and w_gate over w_up
  // into one [2 d_ff, d_model]: one product (one pass over the activations, one parallel job)
  // instead of three and two.
  struct LayerMatrices {
    Matrix wqkv, wo, w_gate_up, w_down;
  };
  // y = x W^T for n_rows rows of x.
  void matmul(const float* x, int64_t n_rows, int64_t in, const Matrix& m, int64_t out, float* y);

  std::shared_ptr<const WeightFile> weights_;
  ModelConfig config_;
  BackendOptions options_;
  const cpu::Kernels& k_;
  cpu::ThreadPool pool_;
  int64_t ring_positions_ = 0;  // KV slots per stream, a multiple of cpu::kKeyBlock
  size_t ring_floats_ = 0;      // ring_positions_ * kv_dim
  int64_t qkv_dim_ = 0;         // d_model + 2 kv_dim: a row of the stacked q, k, v
  int64_t score_stride_ = 0;    // floats per query head's scores, window plus block slack
  int32_t prefill_chunk_ = 1;
  int32_t max_rows_ = 0;
  std::vector<double> inv_freq_;  // theta^(-2i/head_dim), i < head_dim / 2
  std::vector<Stream> streams_;
  std::vector<Row> decode_rows_;  // reserved for max_rows_: a decode step does not allocate
  bool reduced_ = false;
  // The backend's copies of every matrix: float32 panels, or bfloat16 (kReduced).
  HugeBuffer copies_;
  std::vector<LayerMatrices> layers_;
  Matrix output_;
  std::vector<uint16_t> x16_;  // the rows of one matmul input in bfloat16
  // Scratch for one forward pass, sized for max_rows_.
  std::vector<float> x_, h_, qkv_, att_, gate_up_, ffn_, cos_sin_, scores_;
};

CpuBackend::CpuBackend(std::shared_ptr<const WeightFile> weights, const BackendOptions& options,
                       const cpu::Kernels& kernels, int n_threads)
    : weights_(std::move(weights)),
      config_(weights_->config()),
      options_(options),
      k_(kernels),
      pool_(n_threads) {
  const ModelConfig& c = config_;
  // Rounded up to whole key blocks: a larger ring only keeps more history.
  ring_positions_ = (int64_t{c.attention_window} + options.rollback_tokens + cpu::kKeyBlock - 1) /
                    cpu::kKeyBlock * cpu::kKeyBlock;
  ring_floats_ = static_cast<size_t>(ring_positions_) * static_cast<size_t>(c.kv_dim());
  // A chunk must not overwrite ring slots that its own first token still reads: with the ring
  // holding window + rollback positions, rollback + 1 new positions are always safe.
  prefill_chunk_ = static_cast<int32_t>(
      std::min<int64_t>(kMaxPrefillChunk, int64_t{options.rollback_tokens} + 1));
  max_rows_ = std::max(prefill_chunk_, options.max_streams);
  const int half = c.head_dim() / 2;
  for (int i = 0; i < half; ++i) {
    inv_freq_.push_back(
        std::pow(static_cast<double>(c.rope_theta), -2.0 * static_cast<double>(i) / c.head_dim()));
  }
  streams_.resize(static_cast<size_t>(options.max_streams));
  decode_rows_.reserve(static_cast<size_t>(max_rows_));
  const auto rows = static_cast<size_t>(max_rows_);
  qkv_dim_ = int64_t{c.d_model} + 2 * int64_t{c.kv_dim()};
  x_.resize(rows * c.d_model);
  h_.resize(rows * c.d_model);
  qkv_.resize(rows * static_cast<size_t>(qkv_dim_));
  att_.resize(rows * c.d_model);
  gate_up_.resize(rows * 2 * c.d_ff);
  ffn_.resize(rows * c.d_ff);
  cos_sin_.resize(rows * c.head_dim());
  // The window's scores start up to a block after a block boundary and end up to a block
  // before one, since whole key blocks are scored.
  score_stride_ = int64_t{c.attention_window} + 2 * cpu::kKeyBlock;
  // One score row per query head of a group, per parallel part.
  scores_.resize(static_cast<size_t>(pool_.size()) * kPartsPerThread *
                 static_cast<size_t>(c.n_heads / c.n_kv_heads) *
                 static_cast<size_t>(score_stride_));
}

absl::Status CpuBackend::prepare_matrices() {
  const ModelConfig& c = config_;
  const WeightFile& w = *weights_;
  const int64_t d = c.d_model, kv = c.kv_dim(), ff = c.d_ff, v = c.n_vocab;
  reduced_ = options_.precision == Precision::kReduced && cpu::bf16_supported() &&
             c.head_dim() <= cpu::kMaxBf16HeadDim;
  const int64_t shapes[][2] = {{qkv_dim_, d}, {d, d}, {2 * ff, d}, {d, ff}};
  int64_t n_packed16 = cpu::packed_bf16_elements(v, d), n_packed = cpu::packed_floats(v, d);
  for (const auto& [out, in] : shapes) {
    n_packed16 += c.n_layers * cpu::packed_bf16_elements(out, in);
    n_packed += c.n_layers * cpu::packed_floats(out, in);
  }
  const size_t bytes = reduced_ ? static_cast<size_t>(n_packed16) * sizeof(uint16_t)
                                : static_cast<size_t>(n_packed) * sizeof(float);
  copies_ = HugeBuffer(bytes);
  if (copies_.data() == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "cpu backend: cannot map ", bytes >> 20, " MiB for its weight copies (out of memory?)"));
  }
  float* next_packed = reinterpret_cast<float*>(copies_.data());
  uint16_t* next16 = reinterpret_cast<uint16_t*>(copies_.data());
  std::vector<uint16_t> rounded;
  auto prepare = [&](const float* src, int64_t out, int64_t in) {
    Matrix m;
    if (reduced_) {
      rounded.resize(static_cast<size_t>(out * in));
      cpu::to_bf16(src, out * in, rounded.data());
      cpu::pack_panels_bf16(rounded.data(), out, in, next16);
      m.w16 = next16;
      next16 += cpu::packed_bf16_elements(out, in);
    } else {
      cpu::pack_panels(src, out, in, next_packed);
      m.packed = next_packed;
      next_packed += cpu::packed_floats(out, in);
    }
    return m;
  };
  // Row-major matrices stacked on top of each other, for the fused products.
  std::vector<float> stacked;
  auto stack = [&](std::initializer_list<std::pair<const float*, int64_t>> parts) {
    stacked.clear();
    for (const auto& [rows, n_rows] : parts) stacked.insert(stacked.end(), rows, rows + n_rows * d);
    return stacked.data();
  };
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = w.layer(l);
    LayerMatrices m;
    m.wqkv = prepare(stack({{lw.wq, d}, {lw.wk, kv}, {lw.wv, kv}}), qkv_dim_, d);
    m.wo = prepare(lw.wo, d, d);
    m.w_gate_up = prepare(stack({{lw.w_gate, ff}, {lw.w_up, ff}}), 2 * ff, d);
    m.w_down = prepare(lw.w_down, d, ff);
    layers_.push_back(m);
  }
  output_ = prepare(w.output(), v, d);
  // Rows rounded up to whole input pairs (cpu::matmul_packed_bf16).
  if (reduced_) x16_.resize(static_cast<size_t>(max_rows_) * (std::max(d, ff) + 1));
  return absl::OkStatus();
}

BackendCaps CpuBackend::caps() const {
  BackendCaps caps;
  caps.name = "cpu";
  caps.description =
      absl::StrCat("cpu: ", reduced_ ? "bfloat16 weights (avx512-bf16)" : "float32", ", ", k_.name,
                   " kernels, ", pool_.size(), pool_.size() == 1 ? " thread" : " threads");
  caps.precision = reduced_ ? Precision::kReduced : Precision::kFloat32;
  caps.batched_decode = true;
  caps.max_streams = options_.max_streams;
  caps.bytes_per_stream = static_cast<int64_t>(ring_floats_) * 2 * config_.n_layers *
                          static_cast<int64_t>(reduced_ ? sizeof(uint16_t) : sizeof(float));
  return caps;
}

absl::StatusOr<StreamId> CpuBackend::open_stream() {
  for (size_t i = 0; i < streams_.size(); ++i) {
    Stream& s = streams_[i];
    if (s.open) continue;
    // The cache is kept when a stream closes, so a jam that restarts reuses it.
    const size_t n_kv = ring_floats_ * 2 * static_cast<size_t>(config_.n_layers);
    if (reduced_ && s.kv16.empty()) s.kv16.assign(n_kv, 0);
    if (!reduced_ && s.kv.empty()) s.kv.assign(n_kv, 0.0f);
    s.open = true;
    s.position = 0;
    return static_cast<StreamId>(i);
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "all ", options_.max_streams, " model streams are in use; close a jam or raise max_streams"));
}

void CpuBackend::close_stream(StreamId stream) {
  if (check_stream(stream).ok()) streams_[static_cast<size_t>(stream)].open = false;
}

int64_t CpuBackend::stream_position(StreamId stream) const {
  if (!check_stream(stream).ok()) return -1;
  return streams_[static_cast<size_t>(stream)].position;
}

absl::Status CpuBackend::check_stream(StreamId stream) const {
  if (stream < 0 || static_cast<size_t>(stream) >= streams_.size() ||
      !streams_[static_cast<size_t>(stream)].open) {
    return absl::NotFoundError(absl::StrCat("model stream ", stream, " is not open"));
  }
  return absl::OkStatus();
}

absl::Status CpuBackend::check_token(int32_t token) const {
  if (token < 0 || token >= config_.n_vocab) {
    return absl::InvalidArgumentError(absl::StrCat(
        "token ", token, " is outside the model's vocabulary [0, ", config_.n_vocab, ")"));
  }
  return absl::OkStatus();
}

absl::Status CpuBackend::truncate(StreamId stream, int64_t position) {
  if (absl::Status s = check_stream(stream); !s.ok()) return s;
  Stream& s = streams_[static_cast<size_t>(stream)];
  if (position > s.position || position < 0) {
    return absl::OutOfRangeError(absl::StrCat("cannot truncate stream ", stream, " to position ",
                                              position, ": it holds positions 0..",
                                              s.position - 1));
  }
  if (s.position - position > options_.rollback_tokens) {
    return absl::OutOfRangeError(
        absl::StrCat("cannot truncate stream ", stream, " back ", s.position - position,
                     " tokens: the KV cache keeps only ", options_.rollback_tokens,
                     " (rollback_tokens); open a fresh stream and prefill it"));
  }
  s.position = position;
  return absl::OkStatus();
}

absl::Status CpuBackend::prefill(StreamId stream, std::span<const int32_t> tokens,
                                 std::span<float> last_logits) {
  if (absl::Status s = check_stream(stream); !s.ok()) return s;
  for (int32_t t : tokens) {
    if (absl::Status s = check_token(t); !s.ok()) return s;
  }
  if (!last_logits.empty() && last_logits.size() < static_cast<size_t>(config_.n_vocab)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "prefill: logits buffer holds ", last_logits.size(), " floats, needs ", config_.n_vocab));
  }
  if (tokens.empty() && !last_logits.empty()) {
    return absl::InvalidArgumentError("prefill: no tokens to compute logits after");
  }
  Stream& s = streams_[static_cast<size_t>(stream)];
  Row rows[kMaxPrefillChunk];
  for (size_t done = 0; done < tokens.size();) {
    const size_t n = std::min(tokens.size() - done, static_cast<size_t>(prefill_chunk_));
    for (size_t i = 0; i < n; ++i)
      rows[i] = Row{stream, s.position + static_cast<int64_t>(i), tokens[done + i]};
    done += n;
    const bool last = done == tokens.size() && !last_logits.empty();
    forward({rows, n}, last ? 1 : 0, last ? last_logits.data() : nullptr);
    s.position += static_cast<int64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status CpuBackend::decode(std::span<const DecodeStep> steps, std::span<float> logits) {
  if (steps.size() > static_cast<size_t>(max_rows_)) {
    return absl::InvalidArgumentError(
        absl::StrCat("decode: ", steps.size(), " steps, at most ", max_rows_, " at once"));
  }
  if (logits.size() < steps.size() * static_cast<size_t>(config_.n_vocab)) {
    return absl::InvalidArgumentError(absl::StrCat("decode: logits buffer holds ", logits.size(),
                                                   " floats, needs ",
                                                   steps.size() * config_.n_vocab));
  }
  std::vector<Row>& rows = decode_rows_;
  rows.clear();
  for (const DecodeStep& step : steps) {
    if (absl::Status s = check_stream(step.stream); !s.ok()) return s;
    if (absl::Status s = check_token(step.token); !s.ok()) return s;
    for (const Row& r : rows) {
      if (r.stream == step.stream) {
        return absl::InvalidArgumentError(
            absl::StrCat("decode: stream ", step.stream, " is listed twice in one step"));
      }
    }
    rows.push_back(
        Row{step.stream, streams_[static_cast<size_t>(step.stream)].position, step.token});
  }
  if (rows.empty()) return absl::OkStatus();
  forward(rows, static_cast<int64_t>(rows.size()), logits.data());
  for (const Row& r : rows) streams_[static_cast<size_t>(r.stream)].position += 1;
  return absl::OkStatus();
}

void CpuBackend::matmul(const float* x, int64_t n_rows, int64_t in, const Matrix& m, int64_t out,
                        float* y) {
  const int64_t macs = n_rows * in * out;
  const int parts = macs < kMinParallelMacs ? 1 : pool_.size() * kPartsPerThread;
  if (m.w16 != nullptr) {
    const int64_t row16 = (in + 1) / 2 * 2;
    for (int64_t r = 0; r < n_rows; ++r) {
      cpu::to_bf16(x + r * in, in, x16_.data() + r * row16);
      if (row16 > in) x16_[static_cast<size_t>(r * row16 + in)] = 0;
    }
    const uint16_t* x16 = x16_.data();
    pool_.parallel_for((out + cpu::kPanelOutputs - 1) / cpu::kPanelOutputs,
                       [&](int64_t p0, int64_t p1) {
                         cpu::matmul_packed_bf16(x16, n_rows, in, m.w16, out, p0, p1, out, y);
                       },
                       parts);
    return;
  }
  // Split over panels: each thread streams its own slice of the weights.
  pool_.parallel_for((out + cpu::kPanelOutputs - 1) / cpu::kPanelOutputs,
                     [&](int64_t p0, int64_t p1) {
                       k_.matmul_packed(x, n_rows, in, m.packed, out, p0, p1, out, y);
                     },
                     parts);
}

void CpuBackend::rotate(float* vec, int n_heads, const float* cos_sin) const {
  const int hd = config_.head_dim(), half = hd / 2;
  for (int h = 0; h < n_heads; ++h) {
    float* v = vec + static_cast<ptrdiff_t>(h) * hd;
    for (int i = 0; i < half; ++i) {
      const float c = cos_sin[i], s = cos_sin[half + i];
      const float a = v[i], b = v[i + half];
      v[i] = a * c - b * s;
      v[i + half] = a * s + b * c;
    }
  }
}

void CpuBackend::attend(int64_t r, const Row& row, int layer, int kv_head, float* scores) {
  const ModelConfig& c = config_;
  Stream& s = streams_[static_cast<size_t>(row.stream)];
  const int64_t hd = c.head_dim(), block = cpu::kKeyBlock;
  const int group = c.n_heads / c.n_kv_heads;
  const int64_t first = std::max<int64_t>(0, row.position - c.attention_window + 1);
  const int64_t n_keys = row.position - first + 1;
  // The window's keys lie in the ring as at most two runs of slots: [slot0, slot0 + run0) and,
  // when it wraps, [0, n_keys - run0).
  const int64_t slot0 = first % ring_positions_;
  const int64_t run0 = std::min(n_keys, ring_positions_ - slot0);
  const int64_t head_at = kv_head * ring_positions_ * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const float* q = qkv_.data() + r * qkv_dim_ + kv_head * group * hd;
  // Whole key blocks are scored: the window's scores start `lead` floats into each score row.
  // The first run ends at a block boundary when the window wraps (the ring is whole blocks), so
  // the second run's blocks land right after it.
  auto score = [&](int64_t first_slot, int64_t n_blocks, float* out) {
    if (reduced_) {
      cpu::attention_scores_bf16(q, group, hd, keys16(s, layer) + head_at + first_slot * hd,
                                 n_blocks, scale, out, score_stride_);
    } else {
      k_.attention_scores(q, group, hd, keys(s, layer) + head_at + first_slot * hd, n_blocks, scale,
                          out, score_stride_);
    }
  };
  auto mix = [&](const float* p, int64_t first_slot, int64_t n, float* out) {
    if (reduced_) {
      cpu::attention_mix_bf16(p, score_stride_, group,
                              values16(s, layer) + head_at + first_slot * hd, n, hd, out);
    } else {
      k_.attention_mix(p, score_stride_, group, values(s, layer) + head_at + first_slot * hd, n, hd,
                       out);
    }
  };
  const int64_t lead = slot0 % block;
  score(slot0 - lead, (lead + run0 + block - 1) / block, scores);
  if (run0 < n_keys) score(0, (n_keys - run0 + block - 1) / block, scores + lead + run0);
  float inv_sum[kMaxGroup];
  for (int h = 0; h < group; ++h) {
    inv_sum[h] = 1.0f / k_.softmax_unnormalized(scores + h * score_stride_ + lead, n_keys);
  }
  float* out = att_.data() + r * c.d_model + kv_head * group * hd;
  std::fill(out, out + group * hd, 0.0f);
  mix(scores + lead, slot0, run0, out);
  if (run0 < n_keys) mix(scores + lead + run0, 0, n_keys - run0, out);
  // The softmax denominators, applied once to the mixed values.
  for (int h = 0; h < group; ++h) {
    for (int64_t i = 0; i < hd; ++i) out[h * hd + i] *= inv_sum[h];
  }
}

void CpuBackend::attention(std::span<const Row> rows, int layer) {
  const ModelConfig& c = config_;
  const int64_t n = static_cast<int64_t>(rows.size());
  // New keys and values go into the ring first: rows of one stream are consecutive, so each
  // row then reads exactly the positions up to its own. Keys are stored transposed in blocks
  // (cpu_kernels.h, kKeyBlock); values one row per slot.
  const int64_t hd = c.head_dim(), block = cpu::kKeyBlock;
  for (int64_t r = 0; r < n; ++r) {
    Stream& s = streams_[static_cast<size_t>(rows[static_cast<size_t>(r)].stream)];
    const int64_t slot = rows[static_cast<size_t>(r)].position % ring_positions_;
    const float* k = qkv_.data() + r * qkv_dim_ + c.d_model;
    const float* v = k + c.kv_dim();
    for (int64_t g = 0; g < c.n_kv_heads; ++g) {
      const int64_t key_at = (g * ring_positions_ + slot - slot % block) * hd + slot % block;
      const int64_t value_at = (g * ring_positions_ + slot) * hd;
      if (reduced_) {
        uint16_t* kb = keys16(s, layer) + key_at;
        for (int64_t i = 0; i < hd; ++i) cpu::to_bf16(k + g * hd + i, 1, kb + i * block);
        cpu::to_bf16(v + g * hd, hd, values16(s, layer) + value_at);
      } else {
        float* kb = keys(s, layer) + key_at;
        for (int64_t i = 0; i < hd; ++i) kb[i * block] = k[g * hd + i];
        std::memcpy(values(s, layer) + value_at, v + g * hd,
                    static_cast<size_t>(hd) * sizeof(float));
      }
    }
  }
  // Tasks are (row, kv head) pairs, so even one stream's decode step can use every thread.
  const int64_t n_tasks = n * c.n_kv_heads;
  const int64_t macs = n * c.n_heads * c.head_dim() * 2 *
                       std::min<int64_t>(c.attention_window, rows.back().position + 1);
  const int parts = static_cast<int>(
      std::min<int64_t>(n_tasks, macs < kMinParallelMacs ? 1 : pool_.size() * kPartsPerThread));
  const int64_t part_floats = (c.n_heads / c.n_kv_heads) * score_stride_;
  pool_.parallel_for(
      parts,
      [&](int64_t p0, int64_t p1) {
        for (int64_t part = p0; part < p1; ++part) {
          float* scores = scores_.data() + part * part_floats;
          for (int64_t t = n_tasks * part / parts; t < n_tasks * (part + 1) / parts; ++t) {
            const int64_t r = t / c.n_kv_heads;
            attend(r, rows[static_cast<size_t>(r)], layer, static_cast<int>(t % c.n_kv_heads),
                   scores);
          }
        }
      },
      parts);
}

void CpuBackend::forward(std::span<const Row> rows, int64_t n_logit_rows, float* logits) {
  const ModelConfig& c = config_;
  const WeightFile& w = *weights_;
  const int64_t n = static_cast<int64_t>(rows.size());
  const int64_t d = c.d_model, ff = c.d_ff, hd = c.head_dim(), half = hd / 2;
  assert(n > 0 && n <= max_rows_);
  for (int64_t r = 0; r < n; ++r) {
    const Row& row = rows[static_cast<size_t>(r)];
    std::memcpy(x_.data() + r * d, w.tok_embedding() + int64_t{row.token} * d, d * sizeof(float));
    // Angles from the absolute position in double precision: float32 would lose them after
    // about 1e5 tokens, and a jam runs for hours (docs/model-format.md, "Positions").
    float* cs = cos_sin_.data() + r * hd;
    for (int64_t i = 0; i < half; ++i) {
      const double angle = static_cast<double>(row.position) * inv_freq_[static_cast<size_t>(i)];
      cs[i] = static_cast<float>(std::cos(angle));
      cs[half + i] = static_cast<float>(std::sin(angle));
    }
  }
  for (int layer = 0; layer < c.n_layers; ++layer) {
    const LayerWeights& lw = w.layer(layer);
    const LayerMatrices& m = layers_[static_cast<size_t>(layer)];
    for (int64_t r = 0; r < n; ++r) {
      k_.rmsnorm(x_.data() + r * d, lw.attn_norm, d, c.norm_eps, h_.data() + r * d);
    }
    matmul(h_.data(), n, d, m.wqkv, qkv_dim_, qkv_.data());
    for (int64_t r = 0; r < n; ++r) {
      float* q = qkv_.data() + r * qkv_dim_;
      rotate(q, c.n_heads, cos_sin_.data() + r * hd);
      rotate(q + d, c.n_kv_heads, cos_sin_.data() + r * hd);
    }
    attention(rows, layer);
    matmul(att_.data(), n, d, m.wo, d, h_.data());
    for (int64_t i = 0; i < n * d; ++i) x_[static_cast<size_t>(i)] += h_[static_cast<size_t>(i)];
    for (int64_t r = 0; r < n; ++r) {
      k_.rmsnorm(x_.data() + r * d, lw.ffn_norm, d, c.norm_eps, h_.data() + r * d);
    }
    matmul(h_.data(), n, d, m.w_gate_up, 2 * ff, gate_up_.data());
    for (int64_t r = 0; r < n; ++r) {
      const float* gate = gate_up_.data() + r * 2 * ff;
      k_.silu_mul(gate, gate + ff, ff, ffn_.data() + r * ff);
    }
    matmul(ffn_.data(), n, ff, m.w_down, d, h_.data());
    for (int64_t i = 0; i < n * d; ++i) x_[static_cast<size_t>(i)] += h_[static_cast<size_t>(i)];
  }
  if (logits == nullptr || n_logit_rows == 0) return;
  const int64_t first = n - n_logit_rows;
  for (int64_t r = first; r < n; ++r) {
    k_.rmsnorm(x_.data() + r * d, w.final_norm(), d, c.norm_eps, h_.data() + (r - first) * d);
  }
  matmul(h_.data(), n_logit_rows, d, output_, c.n_vocab, logits);
}

absl::Status check_options(const BackendOptions& o) {
  if (o.max_streams < 1) return absl::InvalidArgumentError("cpu backend: max_streams must be >= 1");
  if (o.rollback_tokens < 0) {
    return absl::InvalidArgumentError("cpu backend: rollback_tokens must be >= 0");
  }
  if (o.threads < 0)
    return absl::InvalidArgumentError("cpu backend: threads must be >= 0 (0: all cores)");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> make_cpu_backend(std::shared_ptr<const WeightFile> weights,
                                                          const BackendOptions& options) {
  if (weights == nullptr) return absl::InvalidArgumentError("cpu backend: no weights");
  if (absl::Status s = check_options(options); !s.ok()) return s;
  const ModelConfig& c = weights->config();
  if (c.n_heads / c.n_kv_heads > kMaxGroup) {
    return absl::UnimplementedError(absl::StrCat("cpu backend: ", c.n_heads / c.n_kv_heads,
                                                 " query heads per kv head; at most ", kMaxGroup));
  }
  int threads = options.threads;
  if (threads == 0) threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  auto backend =
      std::make_unique<CpuBackend>(std::move(weights), options, cpu::best_kernels(), threads);
  if (absl::Status s = backend->prepare_matrices(); !s.ok()) return s;
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace jamd::models
