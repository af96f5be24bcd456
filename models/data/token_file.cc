// Token file writer and reader.
#include "models/data/token_file.h"

#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace jamd::models::data {
namespace {

template <typename T>
void put(std::string* out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i)
    out->push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

template <typename T>
T get(const std::string& in, size_t offset) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    value |= static_cast<T>(static_cast<uint8_t>(in[offset + i])) << (8 * i);
  }
  return value;
}

}  // namespace

absl::Status write_token_file(const std::string& path, const std::vector<uint16_t>& tokens,
                              uint32_t n_sequences) {
  std::string bytes(kTokenFileMagic, sizeof(kTokenFileMagic));
  put<uint32_t>(&bytes, kTokenFileVersion);
  put<uint32_t>(&bytes, n_sequences);
  put<uint64_t>(&bytes, Vocabulary::get().hash());
  put<uint64_t>(&bytes, tokens.size());
  bytes.reserve(bytes.size() + 2 * tokens.size());
  for (uint16_t t : tokens) put<uint16_t>(&bytes, t);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out)
    return absl::UnavailableError(
        absl::StrCat("cannot write ", path, "; check the folder and free space"));
  return absl::OkStatus();
}

absl::StatusOr<TokenFile> read_token_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::string bytes(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!in) return absl::DataLossError(absl::StrCat("cannot read ", path));
  if (bytes.size() < kTokenFileHeaderBytes ||
      std::memcmp(bytes.data(), kTokenFileMagic, sizeof(kTokenFileMagic)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a jamd token file (no JAMDTOK1 header); run jamd-prepare"));
  }
  if (get<uint32_t>(bytes, 8) != kTokenFileVersion) {
    return absl::InvalidArgumentError(absl::StrCat(path, " has token file version ",
                                                   get<uint32_t>(bytes, 8), "; this build reads ",
                                                   kTokenFileVersion));
  }
  TokenFile file;
  file.n_sequences = get<uint32_t>(bytes, 12);
  file.vocab_hash = get<uint64_t>(bytes, 16);
  const uint64_t n_tokens = get<uint64_t>(bytes, 24);
  if (file.vocab_hash != Vocabulary::get().hash()) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " was written with another vocabulary; run jamd-prepare again with this build"));
  }
  if (bytes.size() != kTokenFileHeaderBytes + 2 * n_tokens) {
    return absl::DataLossError(absl::StrCat(
        path, " should hold ", n_tokens, " tokens but its size does not match; it is truncated"));
  }
  file.tokens.resize(n_tokens);
  for (uint64_t i = 0; i < n_tokens; ++i) {
    file.tokens[i] = get<uint16_t>(bytes, kTokenFileHeaderBytes + 2 * i);
  }
  return file;
}

}  // namespace jamd::models::data
