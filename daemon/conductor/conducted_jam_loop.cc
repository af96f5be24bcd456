// ConductedJam's harmony from the musician's loop: the coming bars' chords predicted while the
// musician repeats a progression, and the loop kept through their rest (docs/conductor.md).
#include <algorithm>
#include <iterator>
#include <optional>
#include <utility>
#include <vector>

#include "daemon/conductor/conducted_jam.h"

namespace jamd {
namespace {

using models::ForcedChord;

// One beat in this many may differ between repeats (the listener's slips); 4: one a bar of 4/4,
// none in the part of a bar heard so far.
constexpr int64_t kLoopBeatsToleratedPer = 4;

}  // namespace

bool ConductedJam::repeats_loop(int64_t bar, int loop_bars) const {
  const int64_t beat = timeline_.beat_ticks();
  const int64_t start = timeline_.bar_start_tick(bar);
  const int64_t loop_ticks = loop_bars * timeline_.bar_ticks();
  const int64_t heard_beats =
      std::min<int64_t>((heard_chords_until_tick_ - start) / beat, timeline_.beats_per_bar());
  if (heard_beats <= 0) return false;
  const auto chord_at = [&](int64_t tick) {
    const auto it = heard_changes_.upper_bound(tick);
    return it == heard_changes_.begin() ? realtime::Chord{} : std::prev(it)->second;
  };
  // A whole bar may differ on one beat: the listener sometimes names a new chord's first beat
  // after the chord before it (C G Am F: the first F bar is heard Am F F F, the next ones F F F
  // F), which must not cost the loop.
  int64_t differ = 0;
  for (int64_t b = 0; b < heard_beats; ++b) {
    differ += !(chord_at(start + b * beat) == chord_at(start - loop_ticks + b * beat));
  }
  return differ <= heard_beats / kLoopBeatsToleratedPer;
}

std::optional<std::vector<ForcedChord>> ConductedJam::predicted_plan(int64_t bar,
                                                                     int64_t now_bar) const {
  if (heard_changes_.empty()) return std::nullopt;
  const int64_t first_heard_bar = timeline_.bar_of(heard_changes_.begin()->first);
  const int64_t last_heard_bar =
      timeline_.bar_of(std::max<int64_t>(0, heard_chords_until_tick_ - 1));
  for (const int loop_bars : kLoopBars) {
    const int64_t source = bar - loop_bars;
    if (source >= now_bar || source < first_heard_bar) continue;  // not heard to its end
    // Evidence: every bar heard within the last kLoopEvidenceBars (the current one as far as it
    // was heard) equals the bar one loop earlier.
    int compared = 0;
    bool repeats = true;
    for (int64_t x = std::min(last_heard_bar, now_bar);
         x >= first_heard_bar + loop_bars && x > now_bar - kLoopEvidenceBars && repeats; --x) {
      repeats = repeats_loop(x, loop_bars);
      ++compared;
    }
    if (!repeats || compared == 0) continue;
    std::vector<ForcedChord> plan = heard_plan(source);
    if (!plan.empty()) return plan;
  }
  return std::nullopt;
}

void ConductedJam::predict_chords(int64_t now_bar, int64_t now_frame) {
  const models::BandGenerator& g = *generator_;
  for (int64_t bar = now_bar; bar <= now_bar + 1; ++bar) {
    if (chord_plan_.contains(bar)) continue;
    // The current bar, once generated, follows the chords heard in it instead.
    if (bar == now_bar && bar < g.bars_generated()) continue;
    std::optional<std::vector<ForcedChord>> plan = predicted_plan(bar, now_bar);
    if (!plan) continue;
    const std::vector<ForcedChord>* generated = plan_.chords(bar);
    const bool regenerate =
        (bar < g.bars_generated() || (bar == g.bars_generated() && !g.done())) &&
        (generated == nullptr || !same_chords(*generated, *plan));
    generator_->force_chords(bar, *plan);
    chord_plan_[bar] = std::move(*plan);
    record_.predicted_bars.emplace(bar, now_bar);
    if (regenerate) {
      if (!needs_regeneration_) keep_drums_bar_ = now_bar;
      request_regeneration("prediction", now_frame);
    }
  }
}

bool ConductedJam::resting(int64_t now_tick) const {
  return state_.mode != JamMode::kContinue && last_human_tick_ >= 0 && held_.empty() &&
         now_tick - last_human_tick_ >= timeline_.beat_ticks();
}

std::optional<ContinuedLoop> ConductedJam::established_loop() const {
  if (heard_changes_.empty() || last_onset_tick_ < 0) return std::nullopt;
  const int64_t first_bar =
      std::max(phrase_first_bar_, timeline_.bar_of(heard_changes_.begin()->first));
  const int64_t last_bar = timeline_.bar_of(last_onset_tick_);
  const std::optional<int> loop_bars = established_loop_bars(
      first_bar, last_bar, [this](int64_t bar, int n) { return repeats_loop(bar, n); });
  if (!loop_bars) return std::nullopt;
  std::vector<std::vector<ForcedChord>> period;
  bool any = false;
  for (int64_t bar = last_bar - *loop_bars + 1; bar <= last_bar; ++bar) {
    period.push_back(heard_plan(bar));
    any = any || !period.back().empty();
  }
  if (!any) return std::nullopt;
  return ContinuedLoop(last_bar, std::move(period));
}

void ConductedJam::continue_loop(int64_t now_tick, int64_t now_frame) {
  if (!resting(now_tick)) {
    continued_loop_.reset();
    return;
  }
  if (!loop_decided_) {
    continued_loop_ = established_loop();
    loop_decided_ = true;
  }
  if (!continued_loop_) return;  // no loop established: the model chooses
  const models::BandGenerator& g = *generator_;
  const int64_t now_bar = std::max<int64_t>(0, timeline_.bar_of(now_tick));
  const int64_t last_played_bar = timeline_.bar_of(last_onset_tick_);
  for (int64_t bar = std::max(now_bar, last_played_bar + 1); bar <= now_bar + 1; ++bar) {
    if (record_.continued_bars.contains(bar)) continue;
    const std::vector<ForcedChord>& chords = continued_loop_->chords_for(bar);
    if (chords.empty()) continue;
    const std::vector<ForcedChord>* generated = plan_.chords(bar);
    // The current bar too: the rest is known a beat into it, and the rest of the bar can still
    // take the loop's chord.
    const bool regenerate =
        (bar < g.bars_generated() || (bar == g.bars_generated() && !g.done())) &&
        (generated == nullptr || !same_chords(*generated, chords));
    generator_->force_chords(bar, chords);
    chord_plan_[bar] = chords;
    record_.continued_bars.emplace(bar, continued_loop_->loop_bars());
    if (regenerate) {
      if (!needs_regeneration_) keep_drums_bar_ = now_bar;
      request_regeneration("loop", now_frame);
    }
  }
}

void ConductedJam::drop_continued_loop(int64_t bar) {
  if (!continued_loop_) return;  // a musician who plays is followed as they are heard
  continued_loop_.reset();
  loop_decided_ = true;
  bool dropped = false;
  for (auto it = record_.continued_bars.lower_bound(bar); it != record_.continued_bars.end();
       ++it) {
    dropped = chord_plan_.erase(it->first) > 0 || dropped;
  }
  if (!dropped) return;
  generator_->clear_forced_chords();
  for (const auto& [b, plan] : chord_plan_) generator_->force_chords(b, plan);
}

}  // namespace jamd
