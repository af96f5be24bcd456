// Field paths into JamState ("tempo_bpm", "parts.bass.muted", "parts.keys", "mood"): which exist,
// their value ranges, and copying the named fields from one state into another.
//
//   absl::StatusOr<std::vector<std::string>> paths = jamd::expand_paths({"parts.bass"});
//   absl::Status ok = jamd::validate_fields(update, *paths);  // INVALID_ARGUMENT with range
//   jamd::copy_fields(update, *paths, &state);
//
// Thread safety: free functions over constant tables; call from any thread.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "daemon/jam/jam_state.h"

namespace jamd {

// Every leaf path, in JamState's order ("mood" is one leaf).
const std::vector<std::string>& all_leaf_paths();

// Expands group paths ("parts", "parts.bass") to leaves, removes duplicates, keeps order of
// all_leaf_paths(). Empty input or an unknown path: INVALID_ARGUMENT listing the known paths.
absl::StatusOr<std::vector<std::string>> expand_paths(const std::vector<std::string>& paths);

// Checks the named leaf fields of `values` against their ranges; the error names the field,
// the value and the range. Mood prompts: 1..64 bytes, known words, weight in (0, 100], at most
// kMaxMoodPrompts. thread: any.
absl::Status validate_fields(const JamState& values, const std::vector<std::string>& leaf_paths);

// Copies the named leaf fields from `from` into `to`. "mood" is copied as is (the session
// merges moods itself). Asserts that every path is a known leaf.
void copy_fields(const JamState& from, const std::vector<std::string>& leaf_paths, JamState* to);

// Whether two states agree on one leaf path.
bool field_equal(const JamState& a, const JamState& b, const std::string& leaf_path);

inline constexpr size_t kMaxMoodPrompts = 16;
inline constexpr float kMaxMoodWeight = 100.0f;

}  // namespace jamd
