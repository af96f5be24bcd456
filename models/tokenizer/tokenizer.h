// Score <-> tokens. encode() quantizes a score (12 positions per beat, velocity and duration
// classes, tempo classes) and writes it bar by bar; decode() reads any sequence the grammar
// accepts. decode(encode(s)) == quantize(s). Token layout: docs/vocabulary.md.
//
//   absl::StatusOr<std::vector<TokenId>> tokens = encode(score);
//   absl::StatusOr<Score> back = decode(*tokens);      // ticks_per_beat == kGridPerBeat
//   assert(*back == *quantize(score));
//
// Thread safety: free functions over values; safe from any thread.
#pragma once

#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "models/tokenizer/score.h"
#include "models/vocab/vocabulary.h"

namespace jamd::models {

struct EncodeOptions {
  bool add_start_end = true;  // wrap the song in Start ... End
};

// The score as the tokens can hold it: ticks_per_beat = kGridPerBeat, onsets rounded to the grid,
// durations and velocities snapped to their classes (drums: kDrumDurationGrid), tempo snapped to
// its class, duplicate notes (same role, onset and pitch) merged, chord spans merged and trimmed
// to the bars, notes sorted as decode() emits them (bar, role, onset, pitch).
// Errors: a metre outside kMeters, a note or pitch outside the bars or 0..127, a control class
// out of range.
absl::StatusOr<Score> quantize(const Score& score);

absl::StatusOr<std::vector<TokenId>> encode(const Score& score, const EncodeOptions& options = {});

// Accepts any sequence the grammar accepts, with or without Start/End, that ends on a token
// boundary after a bar's first chord (a bar cut off inside a note or its header is an error).
absl::StatusOr<Score> decode(std::span<const TokenId> tokens);

// Live: the block of one part in one bar, without its Part marker, to append after that marker
// (the conductor appends the human's bar this way once it has been heard). `notes` are in
// `ticks_per_beat` ticks from `bar_start_ticks`; those whose onset rounds into the bar are
// written, as `role`, quantized like encode() does.
absl::StatusOr<std::vector<TokenId>> encode_part_block(std::span<const Note> notes,
                                                       int ticks_per_beat, int64_t bar_start_ticks,
                                                       const TimeSignature& time_signature,
                                                       Role role);

// "Bar Meter_4/4 Tempo_12 ..." for logs and test failures.
std::string tokens_to_string(std::span<const TokenId> tokens);

}  // namespace jamd::models
