// The model file: memory-mapped, validated, immutable, shared by every jam and backend.
// Format: docs/model-format.md.
//
//   auto weights = WeightFile::open("models/band.jamd");  // StatusOr<shared_ptr<const WeightFile>>
//   if (!weights.ok()) return weights.status();           // says what is wrong with the file
//   const float* wq0 = (*weights)->layer(0).wq;
//
// Thread safety: immutable after open(); any thread may read it at once.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/engine/model_config.h"

namespace jamd::models {

inline constexpr char kWeightFileMagic[8] = {'J', 'A', 'M', 'D', 'M', 'D', 'L', '1'};
inline constexpr uint32_t kWeightFileVersion = 1;
inline constexpr uint32_t kWeightFileHeaderBytes = 256;
inline constexpr uint32_t kTensorAlignmentBytes = 64;

struct LayerWeights {
  const float* attn_norm = nullptr;  // [d_model]
  const float* wq = nullptr;         // [d_model, d_model]
  const float* wk = nullptr;         // [kv_dim, d_model]
  const float* wv = nullptr;         // [kv_dim, d_model]
  const float* wo = nullptr;         // [d_model, d_model]
  const float* ffn_norm = nullptr;   // [d_model]
  const float* w_gate = nullptr;     // [d_ff, d_model]
  const float* w_up = nullptr;       // [d_ff, d_model]
  const float* w_down = nullptr;     // [d_model, d_ff]
};

class WeightFile {
 public:
  // Maps and validates a file; the error names the file and what to do about it.
  static absl::StatusOr<std::shared_ptr<const WeightFile>> open(const std::string& path);
  // Validates a whole file image held in memory (tests, fuzzing, generated models).
  static absl::StatusOr<std::shared_ptr<const WeightFile>> from_bytes(std::vector<std::byte> bytes);

  ~WeightFile();
  WeightFile(const WeightFile&) = delete;
  WeightFile& operator=(const WeightFile&) = delete;

  const ModelConfig& config() const { return config_; }
  uint64_t vocab_hash() const { return vocab_hash_; }
  uint64_t data_hash() const { return data_hash_; }
  const std::string& source() const { return source_; }  // path, or "<memory>"

  const float* tok_embedding() const { return tok_embedding_; }  // [n_vocab, d_model]
  const LayerWeights& layer(int i) const { return layers_[static_cast<size_t>(i)]; }
  const float* final_norm() const { return final_norm_; }  // [d_model]
  const float* output() const { return output_; }          // [n_vocab, d_model]; tied: embedding
  // Every tensor's float count in file order, and the whole payload (for device upload).
  std::span<const std::byte> payload() const { return payload_; }

 private:
  WeightFile() = default;
  absl::Status parse();

  std::string source_;
  std::vector<std::byte> owned_;  // from_bytes(); empty when mapped
  void* map_base_ = nullptr;
  size_t map_bytes_ = 0;
  std::span<const std::byte> file_;
  std::span<const std::byte> payload_;
  ModelConfig config_;
  uint64_t vocab_hash_ = 0;
  uint64_t data_hash_ = 0;
  const float* tok_embedding_ = nullptr;
  std::vector<LayerWeights> layers_;
  const float* final_norm_ = nullptr;
  const float* output_ = nullptr;
};

// FNV-1a 64: the vocabulary and payload hashes of the format.
uint64_t fnv1a64(std::span<const std::byte> bytes, uint64_t seed = 0xcbf29ce484222325ull);

// Float counts of each tensor in file order (the layout both the writer and the reader follow).
std::vector<int64_t> tensor_sizes(const ModelConfig& config);

// Builds a complete file image from tensors given in file order. Used by tests, benchmarks and
// the random-model tool; the trainer's exporter writes the same bytes from Python.
absl::StatusOr<std::vector<std::byte>> build_weight_file(
    const ModelConfig& config, uint64_t vocab_hash, uint64_t data_hash,
    std::span<const std::vector<float>> tensors);

// A model with seeded random weights (scaled like a freshly initialised network), for parity
// tests and benchmarks of sizes no trained model has.
absl::StatusOr<std::vector<std::byte>> random_weight_file(const ModelConfig& config, uint64_t seed,
                                                          uint64_t vocab_hash = 0);

// Writes bytes to path atomically (temp file + rename).
absl::Status write_file_atomically(const std::string& path, std::span<const std::byte> bytes);

}  // namespace jamd::models
