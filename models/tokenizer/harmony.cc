// Key and chord estimation: correlation with key profiles, scoring of chord templates.
#include "models/tokenizer/harmony.h"

#include <algorithm>
#include <cmath>

#include "models/vocab/vocabulary.h"

namespace jamd::models {
namespace {

// Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
constexpr std::array<double, 12> kMajorProfile = {6.35, 2.23, 3.48, 2.33, 4.38, 4.09,
                                                  2.52, 5.19, 2.39, 3.66, 2.29, 2.88};
constexpr std::array<double, 12> kMinorProfile = {6.33, 2.68, 3.52, 5.38, 2.60, 3.53,
                                                  2.54, 4.75, 3.98, 2.69, 3.34, 3.17};

// Chord tones above the root, per ChordQuality (a triad's fourth entry repeats its fifth).
constexpr std::array<std::array<int, 4>, kNumChordQualities> kChordIntervals = {{
    {0, 4, 7, 7},   // maj
    {0, 3, 7, 7},   // min
    {0, 4, 7, 10},  // 7
    {0, 3, 7, 10},  // min7
    {0, 4, 7, 11},  // maj7
    {0, 3, 6, 6},   // dim
}};
// Weight lost for sounding pitch classes outside the chord, relative to those inside.
constexpr double kOutsidePenalty = 0.6;
// A seventh chord must earn its fourth tone: its score is lowered by this share of the total.
constexpr double kSeventhCost = 0.08;
// Favour for a chord whose root is the lowest sounding pitch class, as a share of the total.
constexpr double kBassRootBonus = 0.15;
// A diminished triad is rare in this music; it must clearly win.
constexpr double kDiminishedCost = 0.05;

double correlation(const std::array<double, 12>& a, const std::array<double, 12>& b, int shift) {
  double mean_a = 0, mean_b = 0;
  for (int i = 0; i < 12; ++i) {
    mean_a += a[i] / 12;
    mean_b += b[i] / 12;
  }
  double ab = 0, aa = 0, bb = 0;
  for (int i = 0; i < 12; ++i) {
    const double x = a[(i + shift) % 12] - mean_a;
    const double y = b[i] - mean_b;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 0.0;
}

// The lowest pitch class sounding in [begin, end).
int bass_pitch_class(std::span<const Note> notes, int64_t begin, int64_t end) {
  int lowest = 128;
  for (const Note& n : notes) {
    if (n.role == Role::kDrums || n.start_ticks >= end ||
        n.start_ticks + n.duration_ticks <= begin) {
      continue;
    }
    lowest = std::min(lowest, n.pitch);
  }
  return lowest < 128 ? lowest % 12 : -1;
}

}  // namespace

std::array<double, 12> pitch_class_weights(std::span<const Note> notes, int64_t begin,
                                           int64_t end) {
  std::array<double, 12> w{};
  for (const Note& n : notes) {
    if (n.role == Role::kDrums) continue;
    const int64_t overlap =
        std::min(end, n.start_ticks + n.duration_ticks) - std::max(begin, n.start_ticks);
    if (overlap > 0) w[n.pitch % 12] += static_cast<double>(overlap);
  }
  return w;
}

int estimate_key(std::span<const Note> notes) {
  int64_t end = 0;
  for (const Note& n : notes) end = std::max(end, n.start_ticks + n.duration_ticks);
  const std::array<double, 12> w = pitch_class_weights(notes, 0, end);
  if (*std::max_element(w.begin(), w.end()) <= 0) return kAnyClass;
  int best = kAnyClass;
  double best_r = -2.0;
  for (int key = 0; key < kNumKeys; ++key) {
    const double r = correlation(w, key < 12 ? kMajorProfile : kMinorProfile, key % 12);
    if (r > best_r) {
      best_r = r;
      best = key;
    }
  }
  return best;
}

ChordSpan best_chord(const std::array<double, 12>& w, int bass) {
  double total = 0;
  for (double x : w) total += x;
  ChordSpan best;  // no chord
  if (total <= 0) return best;
  double best_score = 0.0;
  for (int root = 0; root < 12; ++root) {
    for (int q = 0; q < kNumChordQualities; ++q) {
      std::array<bool, 12> in{};
      for (int interval : kChordIntervals[q]) in[(root + interval) % 12] = true;
      double score = 0;
      for (int pc = 0; pc < 12; ++pc) score += in[pc] ? w[pc] : -kOutsidePenalty * w[pc];
      if (kChordIntervals[q][3] != kChordIntervals[q][2]) score -= kSeventhCost * total;
      if (static_cast<ChordQuality>(q) == ChordQuality::kDim) score -= kDiminishedCost * total;
      if (root == bass) score += kBassRootBonus * total;
      if (score > best_score) {
        best_score = score;
        best = ChordSpan{0, root, static_cast<ChordQuality>(q)};
      }
    }
  }
  return best;
}

std::vector<ChordSpan> estimate_chords(const Score& score, int64_t window_ticks) {
  std::vector<ChordSpan> out;
  if (window_ticks <= 0) return out;
  const int64_t end = bar_start_ticks(score).back();
  // Fewer than this many ticks of pitched sound (a quarter note's worth) say nothing new.
  const double min_weight = score.ticks_per_beat;
  for (int64_t begin = 0; begin < end; begin += window_ticks) {
    const std::array<double, 12> w = pitch_class_weights(score.notes, begin, begin + window_ticks);
    double total = 0;
    for (double x : w) total += x;
    if (total < min_weight) continue;
    ChordSpan chord = best_chord(w, bass_pitch_class(score.notes, begin, begin + window_ticks));
    chord.start_ticks = begin;
    const bool same = !out.empty() && out.back().root_pitch_class == chord.root_pitch_class &&
                      out.back().quality == chord.quality;
    if (!same) out.push_back(chord);
  }
  return out;
}

}  // namespace jamd::models
