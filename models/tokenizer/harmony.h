// Harmony estimated from notes, for corpora without annotations and for describing what a
// musician plays: the key (Krumhansl-Kessler profiles) and chord spans (template matching on
// duration-weighted pitch classes, one chord per window).
//
//   int key = estimate_key(score.notes);                       // 0..23 or kAnyClass
//   std::vector<ChordSpan> chords = estimate_chords(score, 2 * score.ticks_per_beat);
//
// Thread safety: free functions over values; safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "models/tokenizer/score.h"

namespace jamd::models {

// Seconds-free weights: each pitched note (drums excluded) adds its duration in ticks, clipped to
// [begin, end), to its pitch class.
std::array<double, 12> pitch_class_weights(std::span<const Note> notes, int64_t begin_ticks,
                                           int64_t end_ticks);

// The best-correlating of the 24 major and minor key profiles; kAnyClass without pitched notes.
int estimate_key(std::span<const Note> notes);

// The best chord (or no chord) for one window's pitch-class weights; `bass_pitch_class` (-1 when
// unknown) favours chords with that root.
ChordSpan best_chord(const std::array<double, 12>& weights, int bass_pitch_class);

// One chord per `window_ticks` from tick 0 to the end of the bars, neighbours merged. A window
// whose pitched notes are too few for a judgement continues the previous chord.
std::vector<ChordSpan> estimate_chords(const Score& score, int64_t window_ticks);

}  // namespace jamd::models
