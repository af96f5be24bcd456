// The band model's vocabulary: every token, its name and meaning, the class scales (tempo,
// velocity, duration, density, energy, valence, style, key) and the vocabulary hash that the model
// file stores. Layout and rationale: docs/vocabulary.md.
//
//   const Vocabulary& vocab = Vocabulary::get();
//   TokenId t = vocab.pitch(60);                    // "Pitch_60"
//   absl::StatusOr<TokenId> b = vocab.find("Bar");  // lookup by name
//   uint64_t h = vocab.hash();                      // compare with the model file's vocab_hash
//
// Thread safety: the vocabulary is built once, immutable, and readable from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "models/tokenizer/score.h"

namespace jamd::models {

using TokenId = int32_t;

// Positions: 12 per quarter note (16ths and triplet 8ths/16ths), up to 8 quarter notes a bar.
inline constexpr int kGridPerBeat = 12;
inline constexpr int kMaxBarGrid = 96;

// Metres a bar may have; anything else is refused by the encoder with the list.
inline constexpr std::array<TimeSignature, 14> kMeters = {{{2, 4},
                                                           {3, 4},
                                                           {4, 4},
                                                           {5, 4},
                                                           {6, 4},
                                                           {7, 4},
                                                           {2, 2},
                                                           {3, 2},
                                                           {3, 8},
                                                           {5, 8},
                                                           {6, 8},
                                                           {7, 8},
                                                           {9, 8},
                                                           {12, 8}}};
// Index into kMeters, or -1.
int meter_index(const TimeSignature& time_signature);

// Tempo: log-spaced classes from 30 to 300 BPM (about 7.7 % apart).
inline constexpr int kNumTempoClasses = 32;
inline constexpr double kTempoMinBpm = 30.0;
inline constexpr double kTempoMaxBpm = 300.0;
int tempo_class(double tempo_bpm);
double tempo_class_bpm(int tempo_class);

// Velocity: 16 classes of 8 steps each over 1..127.
inline constexpr int kNumVelocityClasses = 16;
int velocity_class(int velocity);
int velocity_class_value(int velocity_class);

// Duration in grid units: log-spaced classes that keep the straight and triplet values.
inline constexpr std::array<int, 20> kDurationGrid = {1,  2,  3,  4,  6,  8,  9,  12,  16,  18,
                                                      24, 30, 36, 48, 60, 72, 96, 120, 144, 192};
inline constexpr int kNumDurationClasses = static_cast<int>(kDurationGrid.size());
int duration_class(int64_t duration_grid);  // nearest class on a log scale; >= 1 grid unit
// Drum notes carry no duration token: they all decode to this length (a 16th note).
inline constexpr int kDrumDurationGrid = 3;

// Controls (computed by models/tokenizer/controls.h; meanings in docs/vocabulary.md).
inline constexpr int kNumDensityClasses = 6;
inline constexpr int kNumEnergyClasses = 5;
inline constexpr int kNumValenceClasses = 3;
inline constexpr int kNumKeys = 24;  // tonic + 12 * minor
inline constexpr std::array<const char*, 21> kStyleNames = {
    "rock",  "funk",       "jazz",     "latin",         "hiphop", "soul",      "afrocuban",
    "punk",  "neworleans", "country",  "pop",           "reggae", "gospel",    "afrobeat",
    "dance", "blues",      "highlife", "middleeastern", "folk",   "classical", "other"};
inline constexpr int kNumStyles = static_cast<int>(kStyleNames.size());
int style_index(absl::string_view name);  // -1 when unknown
std::string key_name(int key);            // "C_maj", "A_min"

enum class TokenKind : uint8_t {
  kPad,
  kStart,
  kEnd,
  kBar,
  kMeter,
  kTempo,
  kDensity,
  kEnergy,
  kValence,
  kStyle,
  kKey,
  kChord,
  kPart,
  kPosition,
  kPitch,
  kVelocity,
  kDuration,
};
inline constexpr int kNumTokenKinds = 17;

// What one token means. `role` is set for kDensity and kPart. `value` is the class, index or
// number; kAnyClass for an open control; for kChord root * kNumChordQualities + quality, or -1
// for no chord.
struct TokenInfo {
  TokenKind kind = TokenKind::kPad;
  int role = -1;
  int value = 0;
};

class Vocabulary {
 public:
  static const Vocabulary& get();

  int size() const { return static_cast<int>(names_.size()); }
  const std::string& name(TokenId id) const;
  const TokenInfo& info(TokenId id) const;
  absl::StatusOr<TokenId> find(absl::string_view name) const;
  // FNV-1a 64 of the token names joined by "\n" (no trailing newline).
  uint64_t hash() const { return hash_; }
  // Ids of one kind form a contiguous range [first_of(kind), first_of(kind) + count_of(kind)).
  TokenId first_of(TokenKind kind) const { return first_[static_cast<int>(kind)]; }
  int count_of(TokenKind kind) const { return count_[static_cast<int>(kind)]; }

  TokenId pad() const { return first_of(TokenKind::kPad); }
  TokenId start() const { return first_of(TokenKind::kStart); }
  TokenId end() const { return first_of(TokenKind::kEnd); }
  TokenId bar() const { return first_of(TokenKind::kBar); }
  TokenId meter(int meter_index) const;
  TokenId tempo(int tempo_class) const;
  TokenId density(int band_role, int density_class) const;  // class may be kAnyClass
  TokenId energy(int energy_class) const;
  TokenId valence(int valence_class) const;
  TokenId style(int style) const;
  TokenId key(int key) const;
  TokenId chord(int root_pitch_class, ChordQuality quality) const;
  TokenId no_chord() const;
  TokenId part(Role role) const;
  TokenId position(int grid) const;
  TokenId pitch(int pitch) const;
  TokenId velocity(int velocity_class) const;
  TokenId duration(int duration_class) const;

 private:
  Vocabulary();
  void add(TokenKind kind, std::string name, int role, int value);
  TokenId in_range(TokenKind kind, int offset) const;

  std::vector<std::string> names_;
  std::vector<TokenInfo> infos_;
  std::unordered_map<std::string, TokenId> by_name_;
  std::array<TokenId, kNumTokenKinds> first_{};
  std::array<int, kNumTokenKinds> count_{};
  uint64_t hash_ = 0;
};

}  // namespace jamd::models
