// Drum pairing of POP909 songs with Groove bars: candidate choice by split, metre and tempo, and
// the bar-by-bar overlay.
#include "models/data/drum_pairing.h"

#include <algorithm>
#include <cmath>
#include <span>

#include "absl/strings/str_cat.h"
#include "models/engine/weight_file.h"
#include "models/tokenizer/controls.h"
#include "models/vocab/vocabulary.h"

namespace jamd::models::data {
namespace {

double median_tempo(const Score& score) {
  std::vector<double> tempos;
  for (const BarInfo& bar : score.bars) tempos.push_back(bar.tempo_bpm);
  if (tempos.empty()) return 120.0;
  std::nth_element(tempos.begin(), tempos.begin() + tempos.size() / 2, tempos.end());
  return tempos[tempos.size() / 2];
}

// splitmix64: a small, well-mixed deterministic draw from a seed.
uint64_t next_draw(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

bool DrumPool::add(const Score& performance, const GrooveEntry& entry) {
  if (entry.fill || performance.bars.empty()) return false;
  DrumSource source;
  source.name = entry.midi_filename;
  source.style = entry.style;
  source.split = entry.split;
  source.metre = performance.bars.front().time_signature;
  source.tempo_bpm = median_tempo(performance);
  source.ticks_per_beat = performance.ticks_per_beat;
  const std::vector<int64_t> starts = bar_start_ticks(performance);
  source.bars.resize(performance.bars.size());
  for (size_t b = 0; b < performance.bars.size(); ++b) {
    if (!(performance.bars[b].time_signature == source.metre)) return false;
  }
  for (const Note& n : performance.notes) {
    if (n.role != Role::kDrums) continue;
    const auto bar = static_cast<size_t>(
        std::upper_bound(starts.begin(), starts.end(), n.start_ticks) - starts.begin() - 1);
    if (bar >= source.bars.size()) continue;
    Note relative = n;
    relative.start_ticks -= starts[bar];
    source.bars[bar].push_back(relative);
  }
  std::erase_if(source.bars, [](const std::vector<Note>& bar) { return bar.empty(); });
  if (source.bars.empty()) return false;
  sources_.push_back(std::move(source));
  return true;
}

DrumPairing pair_drums(Score* song, const DrumPool& pool, const std::string& split,
                       const std::string& key, uint64_t seed) {
  DrumPairing out;
  if (song->bars.empty()) return out;
  out.song_tempo_bpm = median_tempo(*song);
  const TimeSignature metre = song->bars.front().time_signature;
  std::vector<size_t> candidates;
  for (const double tolerance : kPairTempoTolerances) {
    for (size_t i = 0; i < pool.sources().size(); ++i) {
      const DrumSource& s = pool.sources()[i];
      if (s.split == split && s.metre == metre &&
          std::abs(s.tempo_bpm / out.song_tempo_bpm - 1.0) <= tolerance) {
        candidates.push_back(i);
      }
    }
    if (!candidates.empty()) {
      out.tolerance = tolerance;
      break;
    }
  }
  out.candidates = static_cast<int>(candidates.size());
  if (candidates.empty()) return out;

  const std::string seed_key = absl::StrCat(key, "/drums/", seed);
  uint64_t state = fnv1a64(std::as_bytes(std::span(seed_key.data(), seed_key.size())));
  auto draw_from = [&](const std::vector<size_t>& from) {
    return from[next_draw(&state) % from.size()];
  };
  size_t current = draw_from(candidates);
  size_t cursor = 0;
  out.sources.push_back(pool.sources()[current].name);
  out.style = pool.sources()[current].style;

  const std::vector<int64_t> starts = bar_start_ticks(*song);
  std::vector<bool> plays(song->bars.size(), false);
  for (const Note& n : song->notes) {
    const auto bar = static_cast<size_t>(
        std::upper_bound(starts.begin(), starts.end(), n.start_ticks) - starts.begin() - 1);
    if (bar < plays.size()) plays[bar] = true;
  }
  std::vector<Note> drums;
  for (size_t b = 0; b < song->bars.size(); ++b) {
    if (!plays[b] || !(song->bars[b].time_signature == metre)) continue;
    if (cursor >= pool.sources()[current].bars.size()) {
      // The performance ran out: the next one, of the same style when another exists.
      std::vector<size_t> same_style;
      for (size_t i : candidates) {
        if (i != current && pool.sources()[i].style == out.style) same_style.push_back(i);
      }
      current = same_style.empty() ? draw_from(candidates) : draw_from(same_style);
      cursor = 0;
      out.sources.push_back(pool.sources()[current].name);
    }
    const DrumSource& source = pool.sources()[current];
    const int64_t bar_ticks = starts[b + 1] - starts[b];
    for (const Note& n : source.bars[cursor]) {
      Note placed = n;
      placed.start_ticks = n.start_ticks * song->ticks_per_beat / source.ticks_per_beat;
      placed.duration_ticks =
          std::max<int64_t>(1, n.duration_ticks * song->ticks_per_beat / source.ticks_per_beat);
      // A hit that the tokenizer's grid would round onto the next downbeat is left out: in
      // the song's last bar it would fall outside the score.
      if (2 * kGridPerBeat * placed.start_ticks + song->ticks_per_beat >=
          2 * kGridPerBeat * bar_ticks) {
        continue;
      }
      placed.start_ticks += starts[b];
      drums.push_back(placed);
    }
    ++cursor;
    ++out.drum_bars;
  }
  song->notes.insert(song->notes.end(), drums.begin(), drums.end());
  std::stable_sort(song->notes.begin(), song->notes.end(),
                   [](const Note& a, const Note& b) { return a.start_ticks < b.start_ticks; });
  int style = style_index(out.style);
  if (style < 0) style = style_index("other");
  for (BarInfo& bar : song->bars) bar.controls.style = style;
  compute_controls(song);
  out.paired = out.drum_bars > 0;
  return out;
}

}  // namespace jamd::models::data
