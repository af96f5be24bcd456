// The model backend seam: load weights once, keep per-jam streams (KV caches), and run one
// batched forward step for many jams. The CPU backend is the reference; others must match it.
//
//   auto choice = create_backend(BackendKind::kAuto, weights, {});  // backend_registry.h
//   Backend& engine = *choice->backend;
//   StreamId jam = *engine.open_stream();
//   std::vector<float> logits(engine.config().n_vocab);
//   engine.prefill(jam, context_tokens, logits);            // logits after the last token
//   DecodeStep step{jam, next_token};
//   engine.decode({&step, 1}, logits);                      // one token for each listed stream
//   auto rows = engine.decode_view({&step, 1});             // same, logits left in the backend
//   engine.truncate(jam, commit_position);                   // discard uncommitted tokens
//
// Thread safety: a backend and its streams belong to one thread (the conductor); calls from
// several threads at once need outside locking. The weights are shared and immutable.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "models/engine/model_config.h"
#include "models/engine/weight_file.h"

namespace jamd::models {

using StreamId = int32_t;

// Arithmetic a backend uses. Float32 matches PyTorch within 1e-4; kReduced stores weights and
// KV caches in 16-bit floats (accumulating in float32) and matches within about 1e-2.
enum class Precision { kFloat32, kReduced };

struct BackendOptions {
  Precision precision = Precision::kFloat32;
  // Streams the backend must be able to hold at once (device backends preallocate them).
  int32_t max_streams = 64;
  // How far behind the newest token truncate() may go, beyond the attention window. The KV
  // cache of a stream holds attention_window + rollback_tokens positions.
  int32_t rollback_tokens = 256;
  // Worker threads for CPU math; 0 picks the hardware's count, 1 keeps it on the caller.
  int32_t threads = 1;
  int32_t device_index = 0;
};

// What a backend can do, asked instead of testing which backend it is.
struct BackendCaps {
  std::string name;         // "cpu", "cuda"
  std::string description;  // device, precision, memory: what the daemon's status shows
  Precision precision = Precision::kFloat32;
  bool batched_decode = false;  // one decode() over many streams costs far less than many
  int32_t max_streams = 0;
  int64_t bytes_per_stream = 0;  // KV cache memory one stream holds
};

struct DecodeStep {
  StreamId stream = -1;
  int32_t token = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual const ModelConfig& config() const = 0;
  virtual BackendCaps caps() const = 0;

  // A new, empty stream (position 0). RESOURCE_EXHAUSTED when max_streams are open.
  virtual absl::StatusOr<StreamId> open_stream() = 0;
  virtual void close_stream(StreamId stream) = 0;
  // Tokens the stream has consumed: the position the next token takes.
  virtual int64_t stream_position(StreamId stream) const = 0;
  // Forgets tokens so the next one lands at `position`. OUT_OF_RANGE when that reaches further
  // back than rollback_tokens (the caller then opens a fresh stream and prefills it).
  virtual absl::Status truncate(StreamId stream, int64_t position) = 0;

  // Feeds tokens to one stream; writes the logits after the last one to last_logits when it is
  // not empty (n_vocab floats).
  virtual absl::Status prefill(StreamId stream, std::span<const int32_t> tokens,
                               std::span<float> last_logits) = 0;
  // Feeds one token to each listed stream (each stream at most once) in one batched pass;
  // writes steps.size() rows of n_vocab logits.
  virtual absl::Status decode(std::span<const DecodeStep> steps, std::span<float> logits) = 0;
  // decode(), but the logits stay in the backend's own buffer (pinned host memory on a GPU) and
  // the view is valid until the next call on this backend. Saves copying steps.size() x n_vocab
  // floats, which at thousands of jams is a large share of a GPU step (docs/cuda.md).
  // Defined here so that every backend library carries the seam's vtable.
  virtual absl::StatusOr<std::span<const float>> decode_view(std::span<const DecodeStep> steps) {
    view_logits_.resize(steps.size() * static_cast<size_t>(config().n_vocab));
    if (absl::Status s = decode(steps, view_logits_); !s.ok()) return s;
    return std::span<const float>(view_logits_);
  }

 protected:
  std::vector<float> view_logits_;  // the default decode_view()'s buffer
};

}  // namespace jamd::models
