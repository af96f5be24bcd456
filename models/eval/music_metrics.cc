// Music metrics for jamd-eval: onset grids, pitch-class histograms, key and chord-tone tests.
// The descriptors follow MusPy's definitions (Dong et al., ISMIR 2020) on jamd's 12-per-beat grid.
#include "models/eval/music_metrics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "models/generate/band_generator.h"
#include "models/tokenizer/controls.h"

namespace jamd::models::eval {
namespace {

bool is_band(Role role) { return role != Role::kHuman; }
bool is_pitched_band(Role role) { return role != Role::kHuman && role != Role::kDrums; }

struct BarSpan {
  int64_t begin = 0;
  int64_t end = 0;
};

BarSpan bar_span(const Score& score, const std::vector<int64_t>& starts, int bar) {
  (void)score;
  return {starts[static_cast<size_t>(bar)], starts[static_cast<size_t>(bar) + 1]};
}

// The chord value (root * 6 + quality, -1 none) sounding at `tick`.
int chord_value_at(const Score& score, int64_t tick) {
  int value = -1;
  for (const ChordSpan& c : score.chords) {
    if (c.start_ticks > tick) break;
    value = c.root_pitch_class < 0
                ? -1
                : c.root_pitch_class * kNumChordQualities + static_cast<int>(c.quality);
  }
  return value;
}

int clamp_bars(const Score& score, int first_bar, int n_bars) {
  return std::max(0, std::min(n_bars, static_cast<int>(score.bars.size()) - first_bar));
}

}  // namespace

SegmentMetrics segment_metrics(const Score& score, int first_bar, int n_bars) {
  SegmentMetrics m;
  n_bars = clamp_bars(score, first_bar, n_bars);
  if (n_bars == 0) return m;
  const std::vector<int64_t> starts = bar_start_ticks(score);
  const int64_t begin = starts[static_cast<size_t>(first_bar)];
  const int64_t end = starts[static_cast<size_t>(first_bar + n_bars)];
  const int64_t tpb = score.ticks_per_beat;
  std::array<double, 12> pc_count{};
  double n_pitched = 0;
  std::vector<bool> beat_has_onset(static_cast<size_t>((end - begin + tpb - 1) / tpb), false);
  // Onset positions (in ticks from the bar's start) per bar.
  std::vector<std::vector<bool>> bar_onsets(static_cast<size_t>(n_bars));
  for (int b = 0; b < n_bars; ++b) {
    const BarSpan span = bar_span(score, starts, first_bar + b);
    bar_onsets[static_cast<size_t>(b)].assign(static_cast<size_t>(span.end - span.begin), false);
  }
  for (const Note& n : score.notes) {
    if (!is_band(n.role) || n.start_ticks < begin || n.start_ticks >= end) continue;
    beat_has_onset[static_cast<size_t>((n.start_ticks - begin) / tpb)] = true;
    const auto bar_it = std::upper_bound(starts.begin(), starts.end(), n.start_ticks) - 1;
    const auto b = static_cast<size_t>(bar_it - starts.begin() - first_bar);
    bar_onsets[b][static_cast<size_t>(n.start_ticks - *bar_it)] = true;
    if (is_pitched_band(n.role)) {
      pc_count[static_cast<size_t>(n.pitch % 12)] += 1;
      n_pitched += 1;
    }
  }
  const auto empty = std::count(beat_has_onset.begin(), beat_has_onset.end(), false);
  m.empty_beat_rate = static_cast<double>(empty) / static_cast<double>(beat_has_onset.size());
  if (n_bars >= 2) {
    double distance = 0;
    for (int b = 1; b < n_bars; ++b) {
      const auto& a = bar_onsets[static_cast<size_t>(b - 1)];
      const auto& c = bar_onsets[static_cast<size_t>(b)];
      const size_t len = std::max(a.size(), c.size());
      int differ = 0;
      for (size_t i = 0; i < len; ++i) {
        differ += (i < a.size() && a[i]) != (i < c.size() && c[i]);
      }
      distance += static_cast<double>(differ) / static_cast<double>(len);
    }
    m.groove_consistency = 1.0 - distance / (n_bars - 1);
  }
  if (n_pitched > 0) {
    double entropy = 0;
    for (double c : pc_count) {
      if (c > 0) entropy -= (c / n_pitched) * std::log2(c / n_pitched);
    }
    m.pitch_class_entropy = entropy;
    double best = 0;
    for (int key = 0; key < kNumKeys; ++key) {
      const uint16_t scale = key_scale_mask(key);
      double inside = 0;
      for (int pc = 0; pc < 12; ++pc)
        inside += ((scale >> pc) & 1u) ? pc_count[static_cast<size_t>(pc)] : 0;
      best = std::max(best, inside / n_pitched);
    }
    m.scale_consistency = best;
  }
  return m;
}

int notes_in_bar(const Score& score, int bar, Role role) {
  const std::vector<int64_t> starts = bar_start_ticks(score);
  const BarSpan span = bar_span(score, starts, bar);
  return static_cast<int>(std::count_if(score.notes.begin(), score.notes.end(), [&](const Note& n) {
    return n.role == role && n.start_ticks >= span.begin && n.start_ticks < span.end;
  }));
}

int measured_density_class(const Score& score, int bar, Role role) {
  const std::vector<int64_t> starts = bar_start_ticks(score);
  const BarSpan span = bar_span(score, starts, bar);
  std::vector<int64_t> onsets;
  for (const Note& n : score.notes) {
    if (n.role == role && n.start_ticks >= span.begin && n.start_ticks < span.end) {
      onsets.push_back(n.start_ticks);
    }
  }
  std::sort(onsets.begin(), onsets.end());
  const auto distinct = std::unique(onsets.begin(), onsets.end()) - onsets.begin();
  const double beats = static_cast<double>(span.end - span.begin) / score.ticks_per_beat;
  return density_class_of(static_cast<int>(distinct), beats);
}

void count_notes_in_key(const Score& score, int first_bar, int n_bars, NoteShare* share) {
  n_bars = clamp_bars(score, first_bar, n_bars);
  const std::vector<int64_t> starts = bar_start_ticks(score);
  for (int b = first_bar; b < first_bar + n_bars; ++b) {
    const int key = score.bars[static_cast<size_t>(b)].controls.key;
    if (key < 0) continue;
    const uint16_t scale = key_scale_mask(key);
    const BarSpan span = bar_span(score, starts, b);
    for (const Note& n : score.notes) {
      if (!is_pitched_band(n.role) || n.start_ticks < span.begin || n.start_ticks >= span.end) {
        continue;
      }
      ++share->total;
      share->passing += (scale >> (n.pitch % 12)) & 1u;
    }
  }
}

void count_chord_tones(const Score& score, int first_bar, int n_bars, NoteShare* share) {
  n_bars = clamp_bars(score, first_bar, n_bars);
  if (n_bars == 0) return;
  const std::vector<int64_t> starts = bar_start_ticks(score);
  const int64_t begin = starts[static_cast<size_t>(first_bar)];
  const int64_t end = starts[static_cast<size_t>(first_bar + n_bars)];
  for (const Note& n : score.notes) {
    if ((n.role != Role::kBass && n.role != Role::kKeys) || n.start_ticks < begin ||
        n.start_ticks >= end) {
      continue;
    }
    const int chord = chord_value_at(score, n.start_ticks);
    if (chord < 0) continue;
    ++share->total;
    share->passing += (chord_tone_mask(chord) >> (n.pitch % 12)) & 1u;
  }
}

}  // namespace jamd::models::eval
