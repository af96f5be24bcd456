// The CPU backend: the float32 reference implementation of docs/model-format.md, with a KV ring
// per stream (attention_window + rollback_tokens positions) so a jam can run for hours.
// Design notes: docs/engine.md.
#include "models/engine/cpu_backend.h"

#include <sys/mman.h>

#include <algorithm>
#include <cassert>
#include <cmath>
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
// Input rows from which the panel kernel beats the row-major GEMV tiles (which read each weight
// once per row but keep up with memory); measured on the EPYC team VM.
constexpr int64_t kPackedMinRows = 4;

// Anonymous memory advised for transparent huge pages, for the backend's own copies of the
// weights: a decode step streams all of them, and with 4 KiB pages every 4 KiB costs a TLB miss
// (huge pages made the one-row product ~20 % faster on the team VM).
class HugeBuffer {
 public:
  HugeBuffer() = default;
  // data() is null when the memory could not be mapped.
  explicit HugeBuffer(size_t bytes) : bytes_(bytes) {
    if (bytes_ == 0) return;
    void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    madvise(p, bytes_, MADV_HUGEPAGE);  // advice only: fine if the kernel says no
    data_ = static_cast<std::byte*>(p);
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
  // Row-major pointers, plus panels (AVX2) or bfloat16 copies (kReduced) where they apply.
  // Called once after construction; RESOURCE_EXHAUSTED when the copies do not fit in memory.
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
    // then stream one block per head): [n_layers][2][n_kv_heads][ring_positions_][head_dim].
    std::vector<float> kv;
  };

  absl::Status check_stream(StreamId stream) const;
  absl::Status check_token(int32_t token) const;
  float* keys(Stream& s, int layer) {
    return s.kv.data() + static_cast<size_t>(layer) * 2 * ring_floats_;
  }
  float* values(Stream& s, int layer) { return keys(s, layer) + ring_floats_; }

  // Runs rows (each stream's rows at consecutive positions, in order) through the network and
  // writes logits for the last n_logit_rows rows to logits (may be null).
  void forward(std::span<const Row> rows, int64_t n_logit_rows, float* logits);
  void rotate(float* vec, int n_heads, const float* cos_sin) const;
  void attention(std::span<const Row> rows, int layer);
  // Attention of row r's query heads that read kv_head; scores holds 2 * attention_window
  // floats.
  void attend(int64_t r, const Row& row, int layer, int kv_head, float* scores);
  // One matrix in the forms the kernels read: the file's row-major float32 (GEMV of one or two
  // rows), panels for matrix-matrix products, bfloat16 for kReduced.
  struct Matrix {
    const float* w = nullptr;
    const float* packed = nullptr;
    const uint16_t* w16 = nullptr;
  };
  struct LayerMatrices {
    Matrix wq, wk, wv, wo, w_gate, w_up, w_down;
  };
  // y = x W^T for n_rows rows of x.
  void matmul(const float* x, int64_t n_rows, int64_t in, const Matrix& m, int64_t out, float* y);

  std::shared_ptr<const WeightFile> weights_;
  ModelConfig config_;
  BackendOptions options_;
  const cpu::Kernels& k_;
  cpu::ThreadPool pool_;
  int64_t ring_positions_ = 0;  // KV slots per stream
  size_t ring_floats_ = 0;      // ring_positions_ * kv_dim
  int32_t prefill_chunk_ = 1;
  int32_t max_rows_ = 0;
  std::vector<double> inv_freq_;  // theta^(-2i/head_dim), i < head_dim / 2
  std::vector<Stream> streams_;
  std::vector<Row> decode_rows_;  // reserved for max_rows_: a decode step does not allocate
  bool reduced_ = false;
  // The backend's copies of every matrix: row-major float32 and panels (float32 with AVX2), or
  // bfloat16 (kReduced).
  HugeBuffer copies_;
  std::vector<LayerMatrices> layers_;
  Matrix output_;
  std::vector<uint16_t> x16_;  // the rows of one matmul input in bfloat16
  // Scratch for one forward pass, sized for max_rows_.
  std::vector<float> x_, h_, q_, kn_, vn_, att_, gate_, up_, cos_sin_, scores_;
};

CpuBackend::CpuBackend(std::shared_ptr<const WeightFile> weights, const BackendOptions& options,
                       const cpu::Kernels& kernels, int n_threads)
    : weights_(std::move(weights)),
      config_(weights_->config()),
      options_(options),
      k_(kernels),
      pool_(n_threads) {
  const ModelConfig& c = config_;
  ring_positions_ = int64_t{c.attention_window} + options.rollback_tokens;
  ring_floats_ = static_cast<size_t>(ring_positions_) * static_cast<size_t>(c.kv_dim());
  // A chunk must not overwrite ring slots that its own first token still reads: with the ring
  // holding window + rollback positions, rollback + 1 new positions are always safe.
  prefill_chunk_ = static_cast<int32_t>(
      std::min<int64_t>(kMaxPrefillChunk, int64_t{options.rollback_tokens} + 1));
  max_rows_ = std::max(prefill_chunk_, options.max_streams);
  const int half = c.head_dim() / 2;
  for (int i = 0; i < half; ++i) {
    inv_freq_.push_back(std::pow(static_cast<double>(c.rope_theta),
                                 -2.0 * static_cast<double>(i) / c.head_dim()));
  }
  streams_.resize(static_cast<size_t>(options.max_streams));
  decode_rows_.reserve(static_cast<size_t>(max_rows_));
  const auto rows = static_cast<size_t>(max_rows_);
  x_.resize(rows * c.d_model);
  h_.resize(rows * c.d_model);
  q_.resize(rows * c.d_model);
  kn_.resize(rows * c.kv_dim());
  vn_.resize(rows * c.kv_dim());
  att_.resize(rows * c.d_model);
  gate_.resize(rows * c.d_ff);
  up_.resize(rows * c.d_ff);
  cos_sin_.resize(rows * c.head_dim());
  // Two score rows (a pair of query heads) per parallel part.
  scores_.resize(static_cast<size_t>(pool_.size()) * kPartsPerThread * 2 * c.attention_window);
}

absl::Status CpuBackend::prepare_matrices() {
  const ModelConfig& c = config_;
  const WeightFile& w = *weights_;
  const int64_t d = c.d_model, kv = c.kv_dim(), ff = c.d_ff, v = c.n_vocab;
  reduced_ = options_.precision == Precision::kReduced && cpu::bf16_supported();
  // Panels only pay for matrix-matrix products with the AVX2 kernel; kReduced has its own.
  const bool pack = !reduced_ && cpu::avx2_kernels() != nullptr && &k_ == cpu::avx2_kernels();
  const int64_t shapes[][2] = {{d, d}, {kv, d}, {kv, d}, {d, d}, {ff, d}, {ff, d}, {d, ff}};
  int64_t n_elements = v * d, n_packed = cpu::packed_floats(v, d);
  for (const auto& [out, in] : shapes) {
    n_elements += c.n_layers * out * in;
    n_packed += c.n_layers * cpu::packed_floats(out, in);
  }
  const auto elements = static_cast<size_t>(n_elements);
  const size_t rows_bytes = pack ? elements * sizeof(float) : 0;
  const size_t packed_bytes = pack ? static_cast<size_t>(n_packed) * sizeof(float) : 0;
  const size_t w16_bytes = reduced_ ? elements * sizeof(uint16_t) : 0;
  copies_ = HugeBuffer(rows_bytes + packed_bytes + w16_bytes);
  if (copies_.data() == nullptr && rows_bytes + packed_bytes + w16_bytes > 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cpu backend: cannot map ", (rows_bytes + packed_bytes + w16_bytes) >> 20,
                     " MiB for its weight copies (out of memory?)"));
  }
  float* next_rows = reinterpret_cast<float*>(copies_.data());
  float* next_packed = reinterpret_cast<float*>(copies_.data() + rows_bytes);
  uint16_t* next16 = reinterpret_cast<uint16_t*>(copies_.data() + rows_bytes + packed_bytes);
  auto prepare = [&](const float* src, int64_t out, int64_t in) {
    Matrix m;
    m.w = src;
    if (reduced_) {
      cpu::to_bf16(src, out * in, next16);
      m.w16 = next16;
      next16 += out * in;
    }
    if (pack) {
      std::memcpy(next_rows, src, static_cast<size_t>(out * in) * sizeof(float));
      m.w = next_rows;
      next_rows += out * in;
      cpu::pack_panels(src, out, in, next_packed);
      m.packed = next_packed;
      next_packed += cpu::packed_floats(out, in);
    }
    return m;
  };
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = w.layer(l);
    layers_.push_back(LayerMatrices{prepare(lw.wq, d, d), prepare(lw.wk, kv, d),
                                    prepare(lw.wv, kv, d), prepare(lw.wo, d, d),
                                    prepare(lw.w_gate, ff, d), prepare(lw.w_up, ff, d),
                                    prepare(lw.w_down, d, ff)});
  }
  output_ = prepare(w.output(), v, d);
  if (reduced_) x16_.resize(static_cast<size_t>(max_rows_) * std::max(d, ff));
  return absl::OkStatus();
}

BackendCaps CpuBackend::caps() const {
  BackendCaps caps;
  caps.name = "cpu";
  caps.description = absl::StrCat("cpu: ", reduced_ ? "bfloat16 weights (avx512-bf16)" : "float32",
                                  ", ", k_.name, " kernels, ", pool_.size(),
                                  pool_.size() == 1 ? " thread" : " threads");
  caps.precision = reduced_ ? Precision::kReduced : Precision::kFloat32;
  caps.batched_decode = true;
  caps.max_streams = options_.max_streams;
  caps.bytes_per_stream =
      static_cast<int64_t>(ring_floats_) * 2 * config_.n_layers * static_cast<int64_t>(sizeof(float));
  return caps;
}

absl::StatusOr<StreamId> CpuBackend::open_stream() {
  for (size_t i = 0; i < streams_.size(); ++i) {
    Stream& s = streams_[i];
    if (s.open) continue;
    // The cache is kept when a stream closes, so a jam that restarts reuses it.
    if (s.kv.empty()) s.kv.assign(ring_floats_ * 2 * static_cast<size_t>(config_.n_layers), 0.0f);
    s.open = true;
    s.position = 0;
    return static_cast<StreamId>(i);
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("all ", options_.max_streams,
                   " model streams are in use; close a jam or raise max_streams"));
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
    return absl::OutOfRangeError(absl::StrCat(
        "cannot truncate stream ", stream, " back ", s.position - position,
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
    return absl::InvalidArgumentError(absl::StrCat("prefill: logits buffer holds ",
                                                   last_logits.size(), " floats, needs ",
                                                   config_.n_vocab));
  }
  if (tokens.empty() && !last_logits.empty()) {
    return absl::InvalidArgumentError("prefill: no tokens to compute logits after");
  }
  Stream& s = streams_[static_cast<size_t>(stream)];
  Row rows[kMaxPrefillChunk];
  for (size_t done = 0; done < tokens.size();) {
    const size_t n = std::min(tokens.size() - done, static_cast<size_t>(prefill_chunk_));
    for (size_t i = 0; i < n; ++i) rows[i] = Row{stream, s.position + static_cast<int64_t>(i), tokens[done + i]};
    done += n;
    const bool last = done == tokens.size() && !last_logits.empty();
    forward({rows, n}, last ? 1 : 0, last ? last_logits.data() : nullptr);
    s.position += static_cast<int64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status CpuBackend::decode(std::span<const DecodeStep> steps, std::span<float> logits) {
  if (steps.size() > static_cast<size_t>(max_rows_)) {
    return absl::InvalidArgumentError(absl::StrCat("decode: ", steps.size(),
                                                   " steps, at most ", max_rows_, " at once"));
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
    rows.push_back(Row{step.stream, streams_[static_cast<size_t>(step.stream)].position, step.token});
  }
  if (rows.empty()) return absl::OkStatus();
  forward(rows, static_cast<int64_t>(rows.size()), logits.data());
  for (const Row& r : rows) streams_[static_cast<size_t>(r.stream)].position += 1;
  return absl::OkStatus();
}

void CpuBackend::matmul(const float* x, int64_t n_rows, int64_t in, const Matrix& m,
                        int64_t out, float* y) {
  const int64_t macs = n_rows * in * out;
  const int parts = macs < kMinParallelMacs ? 1 : pool_.size() * kPartsPerThread;
  if (m.w16 != nullptr) {
    cpu::to_bf16(x, n_rows * in, x16_.data());
    const uint16_t* x16 = x16_.data();
    pool_.parallel_for(
        (out + 3) / 4,
        [&](int64_t b0, int64_t b1) {
          cpu::matmul_nt_bf16(x16, n_rows, in, m.w16, b0 * 4, std::min(out, b1 * 4), out, y);
        },
        parts);
    return;
  }
  if (m.packed != nullptr && n_rows >= kPackedMinRows) {
    pool_.parallel_for(
        (out + cpu::kPanelOutputs - 1) / cpu::kPanelOutputs,
        [&](int64_t p0, int64_t p1) {
          cpu::matmul_packed_avx2(x, n_rows, in, m.packed, out, p0, p1, out, y);
        },
        parts);
    return;
  }
  // Split over output rows in blocks of 4 (the kernel's tile): each thread streams its own
  // slice of the weights.
  pool_.parallel_for(
      (out + 3) / 4,
      [&](int64_t b0, int64_t b1) {
        k_.matmul_nt(x, n_rows, in, m.w, b0 * 4, std::min(out, b1 * 4), out, y);
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
  const int64_t hd = c.head_dim();
  const int group = c.n_heads / c.n_kv_heads;
  const int64_t first = std::max<int64_t>(0, row.position - c.attention_window + 1);
  const int64_t n_keys = row.position - first + 1;
  // The window's keys lie in the ring as at most two contiguous runs of slots.
  const int64_t slot0 = first % ring_positions_;
  const int64_t run0 = std::min(n_keys, ring_positions_ - slot0);
  const float* kc = keys(s, layer) + kv_head * ring_positions_ * hd;
  const float* vc = values(s, layer) + kv_head * ring_positions_ * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  // Softmax weights of one query head into p; returns 1 / their sum (applied to the output).
  auto weights_for = [&](int h, float* p) {
    const float* q = q_.data() + r * c.d_model + h * hd;
    k_.attention_scores(q, kc + slot0 * hd, hd, run0, hd, scale, p);
    if (run0 < n_keys) k_.attention_scores(q, kc, hd, n_keys - run0, hd, scale, p + run0);
    const float max_score = *std::max_element(p, p + n_keys);
    return 1.0f / k_.exp_shifted_sum(p, n_keys, max_score);
  };
  float* p1 = scores + c.attention_window;
  int h = kv_head * group;
  const int h_end = h + group;
  // Query heads in pairs, so each value row is read once for two of them.
  for (; h + 2 <= h_end; h += 2) {
    const float inv0 = weights_for(h, scores), inv1 = weights_for(h + 1, p1);
    float* out0 = att_.data() + r * c.d_model + h * hd;
    float* out1 = out0 + hd;
    std::fill(out0, out1 + hd, 0.0f);
    k_.attention_mix2(scores, p1, vc + slot0 * hd, hd, run0, hd, out0, out1);
    if (run0 < n_keys) {
      k_.attention_mix2(scores + run0, p1 + run0, vc, hd, n_keys - run0, hd, out0, out1);
    }
    for (int64_t i = 0; i < hd; ++i) {
      out0[i] *= inv0;  // the softmax denominators, applied once
      out1[i] *= inv1;
    }
  }
  if (h < h_end) {
    const float inv = weights_for(h, scores);
    float* out = att_.data() + r * c.d_model + h * hd;
    std::fill(out, out + hd, 0.0f);
    k_.attention_mix(scores, vc + slot0 * hd, hd, run0, hd, out);
    if (run0 < n_keys) k_.attention_mix(scores + run0, vc, hd, n_keys - run0, hd, out);
    for (int64_t i = 0; i < hd; ++i) out[i] *= inv;
  }
}

void CpuBackend::attention(std::span<const Row> rows, int layer) {
  const ModelConfig& c = config_;
  const int64_t n = static_cast<int64_t>(rows.size());
  // New keys and values go into the ring first: rows of one stream are consecutive, so each
  // row then reads exactly the positions up to its own.
  const int64_t hd = c.head_dim();
  const size_t head_bytes = static_cast<size_t>(hd) * sizeof(float);
  for (int64_t r = 0; r < n; ++r) {
    Stream& s = streams_[static_cast<size_t>(rows[static_cast<size_t>(r)].stream)];
    const int64_t slot = rows[static_cast<size_t>(r)].position % ring_positions_;
    for (int64_t g = 0; g < c.n_kv_heads; ++g) {
      const int64_t at = (g * ring_positions_ + slot) * hd;
      std::memcpy(keys(s, layer) + at, kn_.data() + r * c.kv_dim() + g * hd, head_bytes);
      std::memcpy(values(s, layer) + at, vn_.data() + r * c.kv_dim() + g * hd, head_bytes);
    }
  }
  // Tasks are (row, kv head) pairs, so even one stream's decode step can use every thread.
  const int64_t n_tasks = n * c.n_kv_heads;
  const int64_t macs = n * c.n_heads * c.head_dim() * 2 *
                       std::min<int64_t>(c.attention_window, rows.back().position + 1);
  const int parts = static_cast<int>(
      std::min<int64_t>(n_tasks, macs < kMinParallelMacs ? 1 : pool_.size() * kPartsPerThread));
  pool_.parallel_for(
      parts,
      [&](int64_t p0, int64_t p1) {
        for (int64_t part = p0; part < p1; ++part) {
          float* scores = scores_.data() + part * 2 * c.attention_window;
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
  const int64_t d = c.d_model, kv = c.kv_dim(), ff = c.d_ff, hd = c.head_dim(), half = hd / 2;
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
    for (int64_t r = 0; r < n; ++r) k_.rmsnorm(x_.data() + r * d, lw.attn_norm, d, c.norm_eps, h_.data() + r * d);
    matmul(h_.data(), n, d, m.wq, d, q_.data());
    matmul(h_.data(), n, d, m.wk, kv, kn_.data());
    matmul(h_.data(), n, d, m.wv, kv, vn_.data());
    for (int64_t r = 0; r < n; ++r) {
      rotate(q_.data() + r * d, c.n_heads, cos_sin_.data() + r * hd);
      rotate(kn_.data() + r * kv, c.n_kv_heads, cos_sin_.data() + r * hd);
    }
    attention(rows, layer);
    matmul(att_.data(), n, d, m.wo, d, h_.data());
    for (int64_t i = 0; i < n * d; ++i) x_[static_cast<size_t>(i)] += h_[static_cast<size_t>(i)];
    for (int64_t r = 0; r < n; ++r) k_.rmsnorm(x_.data() + r * d, lw.ffn_norm, d, c.norm_eps, h_.data() + r * d);
    matmul(h_.data(), n, d, m.w_gate, ff, gate_.data());
    matmul(h_.data(), n, d, m.w_up, ff, up_.data());
    k_.silu_mul(gate_.data(), up_.data(), n * ff, gate_.data());
    matmul(gate_.data(), n, ff, m.w_down, d, h_.data());
    for (int64_t i = 0; i < n * d; ++i) x_[static_cast<size_t>(i)] += h_[static_cast<size_t>(i)];
  }
  if (logits == nullptr || n_logit_rows == 0) return;
  const int64_t first = n - n_logit_rows;
  for (int64_t r = first; r < n; ++r) k_.rmsnorm(x_.data() + r * d, w.final_norm(), d, c.norm_eps, h_.data() + (r - first) * d);
  matmul(h_.data(), n_logit_rows, d, output_, c.n_vocab, logits);
}

absl::Status check_options(const BackendOptions& o) {
  if (o.max_streams < 1) return absl::InvalidArgumentError("cpu backend: max_streams must be >= 1");
  if (o.rollback_tokens < 0) {
    return absl::InvalidArgumentError("cpu backend: rollback_tokens must be >= 0");
  }
  if (o.threads < 0) return absl::InvalidArgumentError("cpu backend: threads must be >= 0 (0: all cores)");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> make_cpu_backend(std::shared_ptr<const WeightFile> weights,
                                                          const BackendOptions& options) {
  if (weights == nullptr) return absl::InvalidArgumentError("cpu backend: no weights");
  if (absl::Status s = check_options(options); !s.ok()) return s;
  int threads = options.threads;
  if (threads == 0) threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  auto backend = std::make_unique<CpuBackend>(std::move(weights), options, cpu::best_kernels(),
                                              threads);
  if (absl::Status s = backend->prepare_matrices(); !s.ok()) return s;
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace jamd::models
