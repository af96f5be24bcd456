// Token files (`.tok`): the training sequences of one split, as written by jamd-prepare and read
// by training. Little-endian: a 32-byte header, then n_tokens uint16 token ids. Songs follow each
// other, each from its Start to its End token. Format: docs/vocabulary.md ("Token files").
//
//   absl::Status s = write_token_file("train.tok", tokens, n_sequences);
//   absl::StatusOr<TokenFile> f = read_token_file("train.tok");  // checks magic and vocab hash
//
// Thread safety: free functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/vocab/vocabulary.h"

namespace jamd::models::data {

inline constexpr char kTokenFileMagic[8] = {'J', 'A', 'M', 'D', 'T', 'O', 'K', '1'};
inline constexpr uint32_t kTokenFileVersion = 1;
inline constexpr size_t kTokenFileHeaderBytes = 32;

struct TokenFile {
  uint32_t n_sequences = 0;
  uint64_t vocab_hash = 0;
  std::vector<uint16_t> tokens;
};

// Writes the header (with Vocabulary::get().hash()) and the tokens.
absl::Status write_token_file(const std::string& path, const std::vector<uint16_t>& tokens,
                              uint32_t n_sequences);
// Refuses a file of another vocabulary, a truncated one, or one that is not a token file.
absl::StatusOr<TokenFile> read_token_file(const std::string& path);

}  // namespace jamd::models::data
