// Reads, validates and writes the model file described in docs/model-format.md.
#include "models/engine/weight_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <random>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace jamd::models {
namespace {

struct RawHeader {
  char magic[8];
  uint32_t format_version;
  uint32_t header_bytes;
  uint32_t dtype;
  uint32_t flags;
  int32_t n_vocab;
  int32_t d_model;
  int32_t n_layers;
  int32_t n_heads;
  int32_t n_kv_heads;
  int32_t d_ff;
  int32_t attention_window;
  float rope_theta;
  float norm_eps;
  uint32_t traits;  // how the model was trained; readers ignore bits they do not know
  uint64_t vocab_hash;
  uint64_t data_hash;
  uint64_t payload_bytes;
  uint64_t payload_fnv1a64;
};
static_assert(sizeof(RawHeader) == 96, "header layout is part of the file format");
constexpr uint32_t kFlagTiedOutput = 1u;
constexpr uint32_t kTraitFullBand = 1u;

int64_t align_up(int64_t n, int64_t a) { return (n + a - 1) / a * a; }

// Largest sizes a sane band model has; beyond them the header is damaged, not ambitious.
constexpr int32_t kMaxDim = 1 << 16;
constexpr int32_t kMaxLayers = 1024;

absl::Status check_config(const ModelConfig& c) {
  auto bad = [](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("model header: ", what));
  };
  if (c.n_vocab <= 0 || c.n_vocab > (1 << 20)) return bad("n_vocab out of range");
  if (c.d_model <= 0 || c.d_model > kMaxDim) return bad("d_model out of range");
  if (c.n_layers <= 0 || c.n_layers > kMaxLayers) return bad("n_layers out of range");
  if (c.n_heads <= 0 || c.d_model % c.n_heads != 0) return bad("n_heads must divide d_model");
  if (c.n_kv_heads <= 0 || c.n_heads % c.n_kv_heads != 0)
    return bad("n_kv_heads must divide n_heads");
  if (c.head_dim() % 2 != 0) return bad("head_dim must be even for rotary positions");
  if (c.d_ff <= 0 || c.d_ff > 4 * kMaxDim) return bad("d_ff out of range");
  if (c.attention_window <= 0 || c.attention_window > (1 << 20))
    return bad("attention_window out of range");
  if (!(c.rope_theta > 1.0f) || !std::isfinite(c.rope_theta)) return bad("rope_theta must be > 1");
  if (!(c.norm_eps > 0.0f) || !(c.norm_eps < 1.0f)) return bad("norm_eps must be in (0, 1)");
  return absl::OkStatus();
}

RawHeader make_header(const ModelConfig& c, uint64_t vocab_hash, uint64_t data_hash) {
  RawHeader h{};
  std::memcpy(h.magic, kWeightFileMagic, sizeof h.magic);
  h.format_version = kWeightFileVersion;
  h.header_bytes = kWeightFileHeaderBytes;
  h.dtype = 0;
  h.flags = c.tied_output ? kFlagTiedOutput : 0u;
  h.traits = c.full_band ? kTraitFullBand : 0u;
  h.n_vocab = c.n_vocab;
  h.d_model = c.d_model;
  h.n_layers = c.n_layers;
  h.n_heads = c.n_heads;
  h.n_kv_heads = c.n_kv_heads;
  h.d_ff = c.d_ff;
  h.attention_window = c.attention_window;
  h.rope_theta = c.rope_theta;
  h.norm_eps = c.norm_eps;
  h.vocab_hash = vocab_hash;
  h.data_hash = data_hash;
  return h;
}

}  // namespace

uint64_t fnv1a64(std::span<const std::byte> bytes, uint64_t seed) {
  uint64_t h = seed;
  for (std::byte b : bytes) {
    h ^= static_cast<uint64_t>(b);
    h *= 0x100000001b3ull;
  }
  return h;
}

std::vector<int64_t> tensor_sizes(const ModelConfig& c) {
  const int64_t d = c.d_model, kv = c.kv_dim(), ff = c.d_ff, v = c.n_vocab;
  std::vector<int64_t> sizes{v * d};
  for (int l = 0; l < c.n_layers; ++l) {
    for (int64_t n : {d, d * d, kv * d, kv * d, d * d, d, ff * d, ff * d, d * ff})
      sizes.push_back(n);
  }
  sizes.push_back(d);
  if (!c.tied_output) sizes.push_back(v * d);
  return sizes;
}

WeightFile::~WeightFile() {
  if (map_base_ != nullptr) munmap(map_base_, map_bytes_);
}

absl::StatusOr<std::shared_ptr<const WeightFile>> WeightFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat("cannot open model file '", path,
                                            "': ", std::strerror(errno),
                                            "; pass the path of a .jamd file (--model)"));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("model file '", path, "' is not a regular file"));
  }
  std::shared_ptr<WeightFile> file(new WeightFile());
  file->source_ = path;
  if (st.st_size > 0) {
    void* base = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (base == MAP_FAILED) {
      ::close(fd);
      return absl::InternalError(
          absl::StrCat("cannot map model file '", path, "': ", std::strerror(errno)));
    }
    file->map_base_ = base;
    file->map_bytes_ = static_cast<size_t>(st.st_size);
    file->file_ = {static_cast<const std::byte*>(base), file->map_bytes_};
  }
  ::close(fd);
  if (absl::Status s = file->parse(); !s.ok()) return s;
  return std::shared_ptr<const WeightFile>(std::move(file));
}

absl::StatusOr<std::shared_ptr<const WeightFile>> WeightFile::from_bytes(
    std::vector<std::byte> bytes) {
  std::shared_ptr<WeightFile> file(new WeightFile());
  file->source_ = "<memory>";
  file->owned_ = std::move(bytes);
  file->file_ = file->owned_;
  if (absl::Status s = file->parse(); !s.ok()) return s;
  return std::shared_ptr<const WeightFile>(std::move(file));
}

absl::Status WeightFile::parse() {
  auto fail = [this](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("model file '", source_, "': ", what));
  };
  if (file_.size() < kWeightFileHeaderBytes) {
    return fail("too short to be a jamd model (truncated, or not a model file)");
  }
  RawHeader h;
  std::memcpy(&h, file_.data(), sizeof h);
  if (std::memcmp(h.magic, kWeightFileMagic, sizeof h.magic) != 0) {
    return fail("not a jamd model (wrong magic); export one with models/train/export.py");
  }
  if (h.format_version != kWeightFileVersion) {
    return fail(absl::StrCat("format version ", h.format_version, ", this jamd reads version ",
                             kWeightFileVersion, "; re-export the model"));
  }
  if (h.header_bytes != kWeightFileHeaderBytes) return fail("unexpected header size");
  if (h.dtype != 0) return fail(absl::StrCat("unknown tensor dtype ", h.dtype));
  if ((h.flags & ~kFlagTiedOutput) != 0) return fail("unknown flags set");
  ModelConfig c;
  c.n_vocab = h.n_vocab;
  c.d_model = h.d_model;
  c.n_layers = h.n_layers;
  c.n_heads = h.n_heads;
  c.n_kv_heads = h.n_kv_heads;
  c.d_ff = h.d_ff;
  c.attention_window = h.attention_window;
  c.rope_theta = h.rope_theta;
  c.norm_eps = h.norm_eps;
  c.tied_output = (h.flags & kFlagTiedOutput) != 0;
  c.full_band = (h.traits & kTraitFullBand) != 0;
  if (absl::Status s = check_config(c); !s.ok()) return fail(s.message());

  int64_t offset = kWeightFileHeaderBytes;
  std::vector<int64_t> offsets;
  for (int64_t n : tensor_sizes(c)) {
    offset = align_up(offset, kTensorAlignmentBytes);
    offsets.push_back(offset);
    offset += n * static_cast<int64_t>(sizeof(float));
  }
  const auto expected_payload = static_cast<uint64_t>(offset - kWeightFileHeaderBytes);
  if (h.payload_bytes != expected_payload) {
    return fail("payload size in the header does not match the model shape");
  }
  if (file_.size() != static_cast<size_t>(offset)) {
    return fail(absl::StrCat(file_.size() < static_cast<size_t>(offset) ? "truncated" : "too long",
                             ": ", file_.size(), " bytes, the header describes ", offset,
                             "; copy or export the model again"));
  }
  payload_ = file_.subspan(kWeightFileHeaderBytes);
  if (fnv1a64(payload_) != h.payload_fnv1a64) {
    return fail("tensor data does not match its checksum (damaged file); export it again");
  }
  config_ = c;
  vocab_hash_ = h.vocab_hash;
  data_hash_ = h.data_hash;
  auto at = [this, &offsets](size_t i) {
    return reinterpret_cast<const float*>(file_.data() + offsets[i]);
  };
  size_t t = 0;
  tok_embedding_ = at(t++);
  layers_.resize(static_cast<size_t>(c.n_layers));
  for (LayerWeights& l : layers_) {
    for (const float** p :
         {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_norm, &l.w_gate, &l.w_up, &l.w_down}) {
      *p = at(t++);
    }
  }
  final_norm_ = at(t++);
  output_ = c.tied_output ? tok_embedding_ : at(t++);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::byte>> build_weight_file(
    const ModelConfig& config, uint64_t vocab_hash, uint64_t data_hash,
    std::span<const std::vector<float>> tensors) {
  if (absl::Status s = check_config(config); !s.ok()) return s;
  const std::vector<int64_t> sizes = tensor_sizes(config);
  if (tensors.size() != sizes.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected ", sizes.size(), " tensors, got ", tensors.size()));
  }
  int64_t total = kWeightFileHeaderBytes;
  for (int64_t n : sizes) total = align_up(total, kTensorAlignmentBytes) + n * 4;
  std::vector<std::byte> out(static_cast<size_t>(total), std::byte{0});
  int64_t offset = kWeightFileHeaderBytes;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (static_cast<int64_t>(tensors[i].size()) != sizes[i]) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor ", i, " has ", tensors[i].size(), " floats, expected ", sizes[i]));
    }
    offset = align_up(offset, kTensorAlignmentBytes);
    std::memcpy(out.data() + offset, tensors[i].data(), tensors[i].size() * sizeof(float));
    offset += sizes[i] * 4;
  }
  RawHeader h = make_header(config, vocab_hash, data_hash);
  h.payload_bytes = static_cast<uint64_t>(total - kWeightFileHeaderBytes);
  h.payload_fnv1a64 = fnv1a64(std::span<const std::byte>(out).subspan(kWeightFileHeaderBytes));
  std::memcpy(out.data(), &h, sizeof h);
  return out;
}

absl::StatusOr<std::vector<std::byte>> random_weight_file(const ModelConfig& config, uint64_t seed,
                                                          uint64_t vocab_hash) {
  if (absl::Status s = check_config(config); !s.ok()) return s;
  std::mt19937_64 rng(seed);
  const std::vector<int64_t> sizes = tensor_sizes(config);
  std::vector<std::vector<float>> tensors;
  constexpr size_t kTensorsPerLayer = 9;
  constexpr size_t kNormSlots[] = {0, 5};  // attn_norm, ffn_norm within a layer
  constexpr size_t kDownSlot = 8;          // w_down reads d_ff inputs
  for (size_t i = 0; i < sizes.size(); ++i) {
    const bool in_layer = i >= 1 && i < 1 + kTensorsPerLayer * static_cast<size_t>(config.n_layers);
    const size_t slot = in_layer ? (i - 1) % kTensorsPerLayer : SIZE_MAX;
    const bool is_norm = (in_layer && (slot == kNormSlots[0] || slot == kNormSlots[1])) ||
                         i == 1 + kTensorsPerLayer * static_cast<size_t>(config.n_layers);
    std::vector<float> t(static_cast<size_t>(sizes[i]));
    if (is_norm) {
      // Norm gains near one: activations keep their scale but the gain still matters.
      std::uniform_real_distribution<float> gain(0.8f, 1.2f);
      for (float& x : t) x = gain(rng);
    } else {
      // Fan-in scaling keeps activations and logits in the range a trained model produces.
      const float fan_in = static_cast<float>(slot == kDownSlot ? config.d_ff : config.d_model);
      std::normal_distribution<float> w(0.0f, 1.0f / std::sqrt(fan_in));
      for (float& x : t) x = w(rng);
    }
    tensors.push_back(std::move(t));
  }
  return build_weight_file(config, vocab_hash, /*data_hash=*/0, tensors);
}

absl::Status write_file_atomically(const std::string& path, std::span<const std::byte> bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write '", path, "': ", std::strerror(errno)));
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return absl::InternalError(absl::StrCat("writing '", path, "': ", std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || std::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("finishing '", path, "': ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace jamd::models
