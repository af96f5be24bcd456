// Bar arithmetic and names for the tokenizer's score type.
#include "models/tokenizer/score.h"

#include <cassert>

#include "absl/strings/str_cat.h"

namespace jamd::models {

const char* role_name(Role role) {
  switch (role) {
    case Role::kDrums:
      return "drums";
    case Role::kBass:
      return "bass";
    case Role::kKeys:
      return "keys";
    case Role::kPad:
      return "pad";
    case Role::kLead:
      return "lead";
    case Role::kHuman:
      return "human";
  }
  return "?";
}

const char* chord_quality_name(ChordQuality quality) {
  switch (quality) {
    case ChordQuality::kMaj:
      return "maj";
    case ChordQuality::kMin:
      return "min";
    case ChordQuality::kDom7:
      return "7";
    case ChordQuality::kMin7:
      return "min7";
    case ChordQuality::kMaj7:
      return "maj7";
    case ChordQuality::kDim:
      return "dim";
  }
  return "?";
}

int64_t bar_length_ticks(const TimeSignature& time_signature, int ticks_per_beat) {
  assert(time_signature.numerator > 0 && time_signature.denominator > 0);
  return int64_t{ticks_per_beat} * 4 * time_signature.numerator / time_signature.denominator;
}

std::vector<int64_t> bar_start_ticks(const Score& score) {
  std::vector<int64_t> starts;
  starts.reserve(score.bars.size() + 1);
  int64_t tick = 0;
  for (const BarInfo& bar : score.bars) {
    starts.push_back(tick);
    tick += bar_length_ticks(bar.time_signature, score.ticks_per_beat);
  }
  starts.push_back(tick);
  return starts;
}

std::string chord_name(const ChordSpan& chord) {
  static constexpr const char* kNames[12] = {"C",  "Db", "D",  "Eb", "E",  "F",
                                             "Gb", "G",  "Ab", "A",  "Bb", "B"};
  if (chord.root_pitch_class < 0) return "N";
  return absl::StrCat(kNames[chord.root_pitch_class % 12], ":", chord_quality_name(chord.quality));
}

}  // namespace jamd::models
