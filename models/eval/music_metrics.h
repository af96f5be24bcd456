// Music metrics over decoded scores, for jamd-eval: control adherence (density class, notes in
// key, chord tones) and the MusPy-style descriptors pitch-class entropy, scale consistency,
// groove consistency and empty-beat rate, over a run of bars of one score.
//
//   Score song = *decode(tokens);
//   SegmentMetrics m = segment_metrics(song, /*first_bar=*/4, /*n_bars=*/8);
//   NoteShare in_key;
//   count_notes_in_key(song, 4, 8, &in_key);   // in_key.share()
//
// Thread safety: free functions over values; safe from any thread.
#pragma once

#include <cstdint>
#include <limits>
#include <span>

#include "models/tokenizer/score.h"

namespace jamd::models::eval {

// A share of notes that pass a test (in key, on a chord tone).
struct NoteShare {
  int64_t passing = 0;
  int64_t total = 0;
  double share() const {
    return total > 0 ? static_cast<double>(passing) / static_cast<double>(total)
                     : std::numeric_limits<double>::quiet_NaN();
  }
};

// Descriptors of a run of bars; NaN where the bars have no notes to describe.
struct SegmentMetrics {
  double pitch_class_entropy = std::numeric_limits<double>::quiet_NaN();  // bits, pitched notes
  double scale_consistency = std::numeric_limits<double>::quiet_NaN();    // best of 24 scales
  double groove_consistency = std::numeric_limits<double>::quiet_NaN();   // 1 - onset Hamming
  double empty_beat_rate = std::numeric_limits<double>::quiet_NaN();      // beats without onsets
};

// Band notes only (the human part is left out of every metric): bars [first_bar, first_bar + n).
SegmentMetrics segment_metrics(const Score& score, int first_bar, int n_bars);

// The density class (docs/vocabulary.md) `role` plays in bar `bar`: distinct onsets per beat.
int measured_density_class(const Score& score, int bar, Role role);
// Notes of `role` that start in bar `bar`.
int notes_in_bar(const Score& score, int bar, Role role);

// Pitched band notes (bass, keys, pad, lead) of bars with a key, against that bar's key scale.
void count_notes_in_key(const Score& score, int first_bar, int n_bars, NoteShare* share);
// Bass and keys notes whose onset has a chord, against the chord's tones.
void count_chord_tones(const Score& score, int first_bar, int n_bars, NoteShare* share);

}  // namespace jamd::models::eval
