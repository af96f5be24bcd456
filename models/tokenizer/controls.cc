// Control labels from notes: counting onsets, averaging velocities, weighing chord qualities.
#include "models/tokenizer/controls.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <set>
#include <utility>
#include <vector>

#include "models/vocab/vocabulary.h"

namespace jamd::models {
namespace {

// Upper bounds (exclusive) of the onsets-per-beat classes 1..4; class 5 is everything above.
constexpr double kDensityOnsetsPerBeat[] = {0.5, 1.0, 2.0, 4.0};
// Upper bounds (exclusive) of mean velocity for energy classes 0..3; class 4 is above.
constexpr double kEnergyVelocity[] = {50.0, 65.0, 80.0, 95.0};

bool is_major_type(ChordQuality q) {
  return q == ChordQuality::kMaj || q == ChordQuality::kDom7 || q == ChordQuality::kMaj7;
}

}  // namespace

int density_class_of(int n_onsets, double bar_beats) {
  if (n_onsets <= 0) return 0;
  const double per_beat = n_onsets / std::max(bar_beats, 1e-9);
  int cls = 1;
  for (double bound : kDensityOnsetsPerBeat) {
    if (per_beat < bound) return cls;
    ++cls;
  }
  return cls;
}

int energy_class_of(double mean_velocity, int n_notes) {
  if (n_notes <= 0) return 0;
  int cls = 0;
  for (double bound : kEnergyVelocity) {
    if (mean_velocity < bound) return cls;
    ++cls;
  }
  return cls;
}

int valence_class_of(int key, double major_chord_share, double minor_chord_share) {
  double score = major_chord_share - minor_chord_share;
  if (key != kAnyClass) score += key < 12 ? 0.5 : -0.5;
  if (score > 0.5) return 2;
  if (score < -0.5) return 0;
  return 1;
}

void compute_controls(Score* score) {
  const std::vector<int64_t> starts = bar_start_ticks(*score);
  const size_t n_bars = score->bars.size();
  std::vector<std::array<std::set<int64_t>, kNumBandRoles>> onsets(n_bars);
  std::vector<std::pair<double, int>> velocity(n_bars, {0.0, 0});
  for (const Note& n : score->notes) {
    auto it = std::upper_bound(starts.begin(), starts.end(), n.start_ticks);
    if (it == starts.begin() || it == starts.end()) continue;  // outside the bars
    const size_t bar = static_cast<size_t>(it - starts.begin() - 1);
    if (n.role != Role::kHuman) onsets[bar][static_cast<int>(n.role)].insert(n.start_ticks);
    velocity[bar].first += n.velocity;
    ++velocity[bar].second;
  }
  // Chord time per bar by kind; a span lasts until the next one (the last until the song ends).
  std::vector<std::pair<double, double>> chord_share(n_bars, {0.0, 0.0});
  for (size_t i = 0; i < score->chords.size(); ++i) {
    const ChordSpan& c = score->chords[i];
    if (c.root_pitch_class < 0) continue;
    const int64_t end =
        i + 1 < score->chords.size() ? score->chords[i + 1].start_ticks : starts.back();
    for (size_t b = 0; b < n_bars; ++b) {
      const int64_t overlap = std::min(end, starts[b + 1]) - std::max(c.start_ticks, starts[b]);
      if (overlap <= 0) continue;
      const double share = static_cast<double>(overlap) / (starts[b + 1] - starts[b]);
      (is_major_type(c.quality) ? chord_share[b].first : chord_share[b].second) += share;
    }
  }
  for (size_t b = 0; b < n_bars; ++b) {
    BarInfo& bar = score->bars[b];
    const double beats = 4.0 * bar.time_signature.numerator / bar.time_signature.denominator;
    for (int r = 0; r < kNumBandRoles; ++r) {
      bar.controls.density_class[r] =
          density_class_of(static_cast<int>(onsets[b][r].size()), beats);
    }
    const auto [sum, count] = velocity[b];
    bar.controls.energy_class = energy_class_of(count > 0 ? sum / count : 0.0, count);
    bar.controls.valence_class =
        valence_class_of(bar.controls.key, chord_share[b].first, chord_share[b].second);
  }
}

}  // namespace jamd::models
