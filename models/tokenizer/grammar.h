// The token grammar: a small state machine that knows, after the tokens so far, which tokens may
// come next, so that sampling under its mask always yields a sequence decode() accepts. It also
// applies the jam's constraints: disabled parts get empty blocks, forced controls and chords.
// Grammar in words: docs/vocabulary.md.
//
//   Grammar grammar;                        // or Grammar(constraints)
//   TokenMask mask(Vocabulary::get().size());
//   grammar.allowed(&mask);                 // mask.test(id): may `id` come next?
//   absl::Status s = grammar.advance(id);   // error (state unchanged) when it may not
//
// Thread safety: none; one grammar per generation stream, used from one thread at a time.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "models/tokenizer/score.h"
#include "models/vocab/vocabulary.h"

namespace jamd::models {

// A set of token ids, one bit per token.
class TokenMask {
 public:
  explicit TokenMask(int n_tokens) : n_tokens_(n_tokens), words_((n_tokens + 63) / 64, 0) {}
  int size() const { return n_tokens_; }
  bool test(TokenId id) const { return (words_[id >> 6] >> (id & 63)) & 1u; }
  void set(TokenId id) { words_[id >> 6] |= uint64_t{1} << (id & 63); }
  void set_range(TokenId first, int count);
  void clear() { std::fill(words_.begin(), words_.end(), 0); }
  int count() const;
  const std::vector<uint64_t>& words() const { return words_; }
  // Keeps only the tokens both masks allow (a grammar mask with a part mask); same size.
  void intersect(const TokenMask& other) {
    for (size_t i = 0; i < words_.size(); ++i) words_[i] &= other.words_[i];
  }

 private:
  int n_tokens_;
  std::vector<uint64_t> words_;
};

// A control left to the model; any other value forces that class (kAnyClass forces the "any"
// token, which is how classifier-free guidance asks for the unconditioned branch).
inline constexpr int kFree = -2;

struct ForcedChord {
  int position_grid = 0;      // the first forced chord must sit at 0
  int root_pitch_class = -1;  // -1: no chord
  ChordQuality quality = ChordQuality::kMaj;
};

struct GrammarConstraints {
  std::array<bool, kNumRoles> part_enabled = {true, true, true, true, true, true};
  int meter = kFree;  // index into kMeters
  int tempo_class = kFree;
  std::array<int, kNumBandRoles> density_class = {kFree, kFree, kFree, kFree, kFree};
  int energy_class = kFree;
  int valence_class = kFree;
  int style = kFree;
  int key = kFree;
  std::optional<std::vector<ForcedChord>> chords;  // the bar's chords, when forced
};

class Grammar {
 public:
  enum class Phase : uint8_t {
    kSongStart,
    kBeforeBar,
    kMeter,
    kTempo,
    kDensity,
    kEnergy,
    kValence,
    kStyle,
    kKey,
    kFirstChord,
    kChordBlock,
    kChordAfterPosition,
    kPartBody,
    kPitch,
    kVelocity,
    kDuration,
    kEnded,
  };

  explicit Grammar(GrammarConstraints constraints = {});

  // Replaces the constraints; they apply to the tokens that follow. Change them between bars.
  void set_constraints(GrammarConstraints constraints);
  const GrammarConstraints& constraints() const { return constraints_; }

  // Clears `mask` and sets the tokens that may come next (none once End was seen).
  void allowed(TokenMask* mask) const;
  bool allows(TokenId id) const;
  // Consumes `id`; an error names the token and what was expected, and leaves the state alone.
  absl::Status advance(TokenId id);

  Phase phase() const { return phase_; }
  // The part whose block is open (kPartBody, kPitch, kVelocity, kDuration), else -1.
  int current_part() const { return part_; }
  int bar_length_grid() const { return bar_grid_; }
  int bars_started() const { return bars_started_; }
  // True where the next token may be Bar: after the human block (or before the first bar).
  bool at_bar_boundary() const;

 private:
  template <typename F>
  void for_each_allowed_range(F&& f) const;
  void header_ranges(auto&& f) const;
  void chord_ranges(auto&& f) const;
  void part_body_ranges(auto&& f) const;
  const ForcedChord* next_forced_chord() const;
  void apply(const TokenInfo& info, TokenId id);

  const Vocabulary& vocab_;
  GrammarConstraints constraints_;
  Phase phase_ = Phase::kSongStart;
  int bars_started_ = 0;
  int bar_grid_ = 0;
  int density_role_ = 0;
  int chord_count_ = 0;        // chords in this bar so far
  int last_chord_value_ = -2;  // TokenInfo::value of the bar's last chord
  int last_chord_position_ = 0;
  int part_ = -1;
  int position_ = -1;    // last position in the open part, -1 before the first
  int last_pitch_ = -1;  // last pitch at that position
};

}  // namespace jamd::models
