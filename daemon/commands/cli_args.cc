#include "daemon/commands/cli_args.h"

#include <cstdlib>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace jamd::cli {
namespace {

constexpr const char* kPitchClasses[12] = {"C",  "C#", "D",  "D#", "E",  "F",
                                           "F#", "G",  "G#", "A",  "A#", "B"};

}  // namespace

bool parse_number(const char* text, double min, double max, double& out) {
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(v >= min && v <= max)) return false;
  out = v;
  return true;
}

bool parse_parts(std::string_view text, JamState& state) {
  for (PartState& p : state.parts) p.enabled = false;
  for (absl::string_view name : absl::StrSplit(absl::string_view(text.data(), text.size()), ',')) {
    bool found = false;
    for (size_t p = 0; p < kNumParts; ++p) {
      if (name == kPartNames[p]) state.parts[p].enabled = found = true;
    }
    if (!found) return false;
  }
  return true;
}

bool parse_key(std::string_view text, JamState& state) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view mode = text.substr(colon + 1);
  if (mode != "maj" && mode != "min") return false;
  for (int pc = 0; pc < 12; ++pc) {
    if (text.substr(0, colon) == kPitchClasses[pc]) {
      state.key_tonic = pc;
      state.scale = mode == "min" ? Scale::kMinor : Scale::kMajor;
      return true;
    }
  }
  return false;
}

}  // namespace jamd::cli
