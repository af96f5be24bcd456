// BandPlan: decoding whole bars and the finished part blocks of the bar being generated, and the
// notes due for the scheduler.
#include "daemon/conductor/band_plan.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "models/tokenizer/tokenizer.h"
#include "models/vocab/vocabulary.h"

namespace jamd {
namespace {

// Model grid steps per conductor tick: kGridPerBeat (12) per quarter note.
constexpr int64_t kTicksPerGrid = kConductorTicksPerQuarter / models::kGridPerBeat;

}  // namespace

bool BandPlan::PartPlan::plays(const PlannedNote& n) const {
  return fresh_until_tick < 0 ? true : n.note.tick >= fresh_until_tick;
}

absl::Status BandPlan::replace(std::span<const models::TokenId> tokens, int64_t bar, int n_finished,
                               int64_t splice_tick, int64_t serial, const JamTimeline& timeline) {
  absl::StatusOr<models::Score> score = models::decode(tokens);
  if (!score.ok()) {
    return absl::InternalError(
        absl::StrCat("bar ", bar, " does not decode (a bug): ", score.status().message()));
  }
  const int64_t scale = kConductorTicksPerQuarter / score->ticks_per_beat;
  BarPlan& plan = bars_[bar];
  const int n_touched = std::min(n_finished + 1, static_cast<int>(kNumParts));
  for (int p = 0; p < n_touched; ++p) plan.parts[static_cast<size_t>(p)].fresh.clear();
  for (const models::Note& n : score->notes) {
    const int part = static_cast<int>(n.role);
    if (part >= n_touched) continue;  // the human
    plan.parts[static_cast<size_t>(part)].fresh.push_back(PlannedNote{
        TimedNote{timeline.bar_start_tick(bar) + n.start_ticks * scale,
                  std::max<int64_t>(1, n.duration_ticks * scale), n.pitch, n.velocity, part},
        serial});
  }
  for (int p = 0; p < n_touched; ++p) {
    PartPlan& part = plan.parts[static_cast<size_t>(p)];
    if (p < n_finished) {
      part.settled.swap(part.fresh);
      part.fresh.clear();
      part.fresh_until_tick = -1;
      part.known = true;
    } else {
      part.fresh_until_tick = splice_tick;
    }
  }
  std::vector<models::ForcedChord>& chords = chords_[bar];
  chords.clear();
  for (const models::ChordSpan& c : score->chords) {
    chords.push_back(models::ForcedChord{static_cast<int>(c.start_ticks * scale / kTicksPerGrid),
                                         c.root_pitch_class, c.quality});
  }
  return absl::OkStatus();
}

absl::Status BandPlan::update(const models::BandGenerator& g, int64_t first_bar, int64_t serial,
                              const JamTimeline& timeline) {
  const models::Vocabulary& v = models::Vocabulary::get();
  const std::span<const models::TokenId> tokens = g.tokens();
  const int64_t first = g.tokens_first_position();
  const int64_t end = first + static_cast<int64_t>(tokens.size());
  const auto span_of = [&](int64_t begin, int64_t until) {
    return tokens.subspan(static_cast<size_t>(begin - first), static_cast<size_t>(until - begin));
  };
  for (int64_t bar = first_bar; bar <= g.bars_generated(); ++bar) {
    const int64_t begin = g.bar_start_position(bar);
    if (begin < first) continue;
    if (bar < g.bars_generated()) {
      const int64_t next = g.bar_start_position(bar + 1);
      if (absl::Status s = replace(span_of(begin, next > begin ? next : end), bar, kNumParts, -1,
                                   serial, timeline);
          !s.ok()) {
        return s;
      }
      continue;
    }
    // The bar being generated: the blocks before the last part marker are finished; the part
    // after it is finished up to its last position token (a note's pitches, velocities and
    // durations follow its position).
    int64_t cut = -1;
    int part = -1;
    int splice_grid = 0;
    for (int64_t pos = end - 1; pos > begin && part < 0; --pos) {
      const models::TokenInfo& info = v.info(tokens[static_cast<size_t>(pos - first)]);
      if (info.kind == models::TokenKind::kPosition && cut < 0) {
        cut = pos;
        splice_grid = info.value;
      } else if (info.kind == models::TokenKind::kPart) {
        part = info.role;
        if (cut < 0) cut = end;  // the part's block has no note yet
      }
    }
    if (part < 0) continue;  // still in the bar's header or chords
    const int64_t splice_tick = timeline.bar_start_tick(bar) + splice_grid * kTicksPerGrid;
    if (absl::Status s = replace(span_of(begin, cut), bar, part, splice_tick, serial, timeline);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

int64_t BandPlan::complete_until_tick(int64_t from_tick, int64_t until_tick,
                                      const JamTimeline& timeline) const {
  if (until_tick <= from_tick) return until_tick;
  for (int64_t bar = timeline.bar_of(from_tick); bar <= timeline.bar_of(until_tick - 1); ++bar) {
    const auto it = bars_.find(bar);
    const bool complete =
        it != bars_.end() && std::all_of(it->second.parts.begin(), it->second.parts.end(),
                                         [](const PartPlan& p) { return p.known; });
    if (!complete) return std::max(from_tick, timeline.bar_start_tick(bar));
  }
  return until_tick;
}

void BandPlan::notes_in(int64_t from_tick, int64_t until_tick, const JamTimeline& timeline,
                        std::vector<PlannedNote>* out) const {
  if (until_tick <= from_tick) return;
  const size_t first_out = out->size();
  for (auto it = bars_.lower_bound(timeline.bar_of(from_tick));
       it != bars_.end() && it->first <= timeline.bar_of(until_tick - 1); ++it) {
    for (const PartPlan& part : it->second.parts) {
      for (const PlannedNote& n : part.fresh) {
        if (n.note.tick >= from_tick && n.note.tick < until_tick) out->push_back(n);
      }
      for (const PlannedNote& n : part.settled) {
        if (part.plays(n) && n.note.tick >= from_tick && n.note.tick < until_tick) {
          out->push_back(n);
        }
      }
    }
  }
  std::stable_sort(
      out->begin() + static_cast<std::ptrdiff_t>(first_out), out->end(),
      [](const PlannedNote& a, const PlannedNote& b) { return a.note.tick < b.note.tick; });
}

const std::vector<models::ForcedChord>* BandPlan::chords(int64_t bar) const {
  const auto it = chords_.find(bar);
  return it == chords_.end() ? nullptr : &it->second;
}

void BandPlan::begin_generation(int64_t bar) {
  for (auto it = bars_.lower_bound(bar); it != bars_.end(); ++it) {
    for (PartPlan& part : it->second.parts) {
      if (part.fresh_until_tick < 0) continue;
      std::erase_if(part.settled, [&](const PlannedNote& n) { return !part.plays(n); });
      part.settled.insert(part.settled.end(), part.fresh.begin(), part.fresh.end());
      std::stable_sort(
          part.settled.begin(), part.settled.end(),
          [](const PlannedNote& a, const PlannedNote& b) { return a.note.tick < b.note.tick; });
      part.fresh.clear();
      part.fresh_until_tick = -1;
    }
  }
  chords_.erase(chords_.lower_bound(bar), chords_.end());
}

void BandPlan::drop_before(int64_t bar) {
  bars_.erase(bars_.begin(), bars_.lower_bound(bar));
  chords_.erase(chords_.begin(), chords_.lower_bound(bar));
}

}  // namespace jamd
