// Builds the vocabulary in its fixed order and implements the class scales.
#include "models/vocab/vocabulary.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <span>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "models/engine/weight_file.h"

namespace jamd::models {
namespace {

constexpr std::array<const char*, 12> kPitchClassNames = {"C",  "Db", "D",  "Eb", "E",  "F",
                                                          "Gb", "G",  "Ab", "A",  "Bb", "B"};

// The "any" token of a control sits after its classes.
int control_offset(int cls, int n_classes) {
  assert(cls == kAnyClass || (cls >= 0 && cls < n_classes));
  return cls == kAnyClass ? n_classes : cls;
}

}  // namespace

int meter_index(const TimeSignature& time_signature) {
  for (size_t i = 0; i < kMeters.size(); ++i) {
    if (kMeters[i] == time_signature) return static_cast<int>(i);
  }
  return -1;
}

int tempo_class(double tempo_bpm) {
  if (!(tempo_bpm > kTempoMinBpm)) return 0;
  const double x = std::log(tempo_bpm / kTempoMinBpm) / std::log(kTempoMaxBpm / kTempoMinBpm);
  const int cls = static_cast<int>(std::lround(x * (kNumTempoClasses - 1)));
  return std::min(cls, kNumTempoClasses - 1);
}

double tempo_class_bpm(int cls) {
  assert(cls >= 0 && cls < kNumTempoClasses);
  const double x = static_cast<double>(cls) / (kNumTempoClasses - 1);
  // Rounded to 0.01 BPM so a decoded tempo prints and compares cleanly.
  return std::round(kTempoMinBpm * std::pow(kTempoMaxBpm / kTempoMinBpm, x) * 100.0) / 100.0;
}

int velocity_class(int velocity) {
  const int v = std::clamp(velocity, 1, 127);
  return (v - 1) / 8;
}

int velocity_class_value(int cls) {
  assert(cls >= 0 && cls < kNumVelocityClasses);
  return std::min(cls * 8 + 5, 127);
}

int duration_class(int64_t duration_grid) {
  const double d = std::log(static_cast<double>(std::max<int64_t>(duration_grid, 1)));
  int best = 0;
  double best_distance = 1e300;
  for (int i = 0; i < kNumDurationClasses; ++i) {
    const double distance = std::abs(std::log(static_cast<double>(kDurationGrid[i])) - d);
    if (distance < best_distance) {
      best = i;
      best_distance = distance;
    }
  }
  return best;
}

int style_index(absl::string_view name) {
  for (int i = 0; i < kNumStyles; ++i) {
    if (name == kStyleNames[i]) return i;
  }
  return -1;
}

std::string key_name(int key) {
  assert(key >= 0 && key < kNumKeys);
  return absl::StrCat(kPitchClassNames[key % 12], key < 12 ? "_maj" : "_min");
}

const Vocabulary& Vocabulary::get() {
  static const Vocabulary* const vocabulary = new Vocabulary();
  return *vocabulary;
}

void Vocabulary::add(TokenKind kind, std::string name, int role, int value) {
  const int k = static_cast<int>(kind);
  if (count_[k] == 0) first_[k] = size();
  assert(first_[k] + count_[k] == size() && "token kinds must be contiguous");
  ++count_[k];
  by_name_.emplace(name, size());
  names_.push_back(std::move(name));
  infos_.push_back(TokenInfo{kind, role, value});
}

Vocabulary::Vocabulary() {
  add(TokenKind::kPad, "Pad", -1, 0);
  add(TokenKind::kStart, "Start", -1, 0);
  add(TokenKind::kEnd, "End", -1, 0);
  add(TokenKind::kBar, "Bar", -1, 0);
  for (size_t i = 0; i < kMeters.size(); ++i) {
    add(TokenKind::kMeter,
        absl::StrCat("Meter_", kMeters[i].numerator, "/", kMeters[i].denominator), -1,
        static_cast<int>(i));
  }
  for (int c = 0; c < kNumTempoClasses; ++c)
    add(TokenKind::kTempo, absl::StrCat("Tempo_", c), -1, c);
  for (int r = 0; r < kNumBandRoles; ++r) {
    const char* role = role_name(static_cast<Role>(r));
    for (int c = 0; c < kNumDensityClasses; ++c) {
      add(TokenKind::kDensity, absl::StrCat("Density_", role, "_", c), r, c);
    }
    add(TokenKind::kDensity, absl::StrCat("Density_", role, "_any"), r, kAnyClass);
  }
  for (int c = 0; c < kNumEnergyClasses; ++c)
    add(TokenKind::kEnergy, absl::StrCat("Energy_", c), -1, c);
  add(TokenKind::kEnergy, "Energy_any", -1, kAnyClass);
  for (int c = 0; c < kNumValenceClasses; ++c) {
    add(TokenKind::kValence, absl::StrCat("Valence_", c), -1, c);
  }
  add(TokenKind::kValence, "Valence_any", -1, kAnyClass);
  for (int s = 0; s < kNumStyles; ++s)
    add(TokenKind::kStyle, absl::StrCat("Style_", kStyleNames[s]), -1, s);
  add(TokenKind::kStyle, "Style_any", -1, kAnyClass);
  for (int k = 0; k < kNumKeys; ++k) add(TokenKind::kKey, absl::StrCat("Key_", key_name(k)), -1, k);
  add(TokenKind::kKey, "Key_any", -1, kAnyClass);
  for (int root = 0; root < 12; ++root) {
    for (int q = 0; q < kNumChordQualities; ++q) {
      add(TokenKind::kChord,
          absl::StrCat("Chord_", kPitchClassNames[root], "_",
                       chord_quality_name(static_cast<ChordQuality>(q))),
          -1, root * kNumChordQualities + q);
    }
  }
  add(TokenKind::kChord, "Chord_none", -1, -1);
  for (int r = 0; r < kNumRoles; ++r) {
    add(TokenKind::kPart, absl::StrCat("Part_", role_name(static_cast<Role>(r))), r, r);
  }
  for (int g = 0; g < kMaxBarGrid; ++g) add(TokenKind::kPosition, absl::StrCat("Pos_", g), -1, g);
  for (int p = 0; p < 128; ++p) add(TokenKind::kPitch, absl::StrCat("Pitch_", p), -1, p);
  for (int c = 0; c < kNumVelocityClasses; ++c) {
    add(TokenKind::kVelocity, absl::StrCat("Vel_", c), -1, c);
  }
  for (int c = 0; c < kNumDurationClasses; ++c) {
    add(TokenKind::kDuration, absl::StrCat("Dur_", kDurationGrid[c]), -1, c);
  }
  for (int k = 0; k < kNumTokenKinds; ++k) assert(count_[k] > 0);

  const std::string joined = absl::StrJoin(names_, "\n");
  hash_ = fnv1a64(std::as_bytes(std::span<const char>(joined.data(), joined.size())));
}

const std::string& Vocabulary::name(TokenId id) const {
  assert(id >= 0 && id < size());
  return names_[id];
}

const TokenInfo& Vocabulary::info(TokenId id) const {
  assert(id >= 0 && id < size());
  return infos_[id];
}

absl::StatusOr<TokenId> Vocabulary::find(absl::string_view name) const {
  auto it = by_name_.find(std::string(name));
  if (it == by_name_.end()) {
    return absl::NotFoundError(
        absl::StrCat("no token named '", name, "' in the vocabulary (names: docs/vocabulary.md)"));
  }
  return it->second;
}

TokenId Vocabulary::in_range(TokenKind kind, int offset) const {
  assert(offset >= 0 && offset < count_of(kind));
  return first_of(kind) + offset;
}

TokenId Vocabulary::meter(int index) const { return in_range(TokenKind::kMeter, index); }
TokenId Vocabulary::tempo(int cls) const { return in_range(TokenKind::kTempo, cls); }
TokenId Vocabulary::density(int band_role, int cls) const {
  assert(band_role >= 0 && band_role < kNumBandRoles);
  return in_range(TokenKind::kDensity,
                  band_role * (kNumDensityClasses + 1) + control_offset(cls, kNumDensityClasses));
}
TokenId Vocabulary::energy(int cls) const {
  return in_range(TokenKind::kEnergy, control_offset(cls, kNumEnergyClasses));
}
TokenId Vocabulary::valence(int cls) const {
  return in_range(TokenKind::kValence, control_offset(cls, kNumValenceClasses));
}
TokenId Vocabulary::style(int s) const {
  return in_range(TokenKind::kStyle, control_offset(s, kNumStyles));
}
TokenId Vocabulary::key(int k) const {
  return in_range(TokenKind::kKey, control_offset(k, kNumKeys));
}
TokenId Vocabulary::chord(int root, ChordQuality quality) const {
  assert(root >= 0 && root < 12);
  return in_range(TokenKind::kChord, root * kNumChordQualities + static_cast<int>(quality));
}
TokenId Vocabulary::no_chord() const {
  return in_range(TokenKind::kChord, 12 * kNumChordQualities);
}
TokenId Vocabulary::part(Role role) const {
  return in_range(TokenKind::kPart, static_cast<int>(role));
}
TokenId Vocabulary::position(int grid) const { return in_range(TokenKind::kPosition, grid); }
TokenId Vocabulary::pitch(int p) const { return in_range(TokenKind::kPitch, p); }
TokenId Vocabulary::velocity(int cls) const { return in_range(TokenKind::kVelocity, cls); }
TokenId Vocabulary::duration(int cls) const { return in_range(TokenKind::kDuration, cls); }

}  // namespace jamd::models
