// TempoMap: tempo and meter segments, and the exact conversions between ticks and frames.
#include "realtime/core/tempo_map.h"

#include <cassert>
#include <cmath>

namespace jamd::realtime {
namespace {

// Floor division that is right for negative numerators too.
int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

TempoMap::TempoMap(uint32_t sample_rate_hz, int ticks_per_quarter, double tempo_bpm,
                   TimeSignature time_signature)
    : sample_rate_hz_(sample_rate_hz), ticks_per_quarter_(ticks_per_quarter) {
  assert(sample_rate_hz > 0 && ticks_per_quarter > 0 && tempo_bpm > 0.0);
  tempo_[0] = {0, 0, tempo_bpm, frames_per_tick(tempo_bpm)};
  n_tempo_ = 1;
  meter_[0] = {0, 0, time_signature};
  n_meter_ = 1;
}

double TempoMap::frames_per_tick(double tempo_bpm) const {
  return 60.0 * sample_rate_hz_ / (tempo_bpm * ticks_per_quarter_);
}

int64_t TempoMap::ticks_per_beat(const TimeSignature& ts) const {
  // A beat is the denominator note: a quarter is 4 / 4 of a quarter, an eighth 4 / 8.
  return static_cast<int64_t>(ticks_per_quarter_) * 4 / ts.denominator;
}

const TempoMap::TempoSegment& TempoMap::tempo_segment_at_tick(int64_t tick) const {
  size_t i = n_tempo_ - 1;
  while (i > 0 && tempo_[i].start_tick > tick) --i;
  return tempo_[i];
}

const TempoMap::TempoSegment& TempoMap::tempo_segment_at_frame(int64_t frame) const {
  size_t i = n_tempo_ - 1;
  while (i > 0 && tempo_[i].start_frame > frame) --i;
  return tempo_[i];
}

const TempoMap::MeterSegment& TempoMap::meter_segment_at_tick(int64_t tick) const {
  size_t i = n_meter_ - 1;
  while (i > 0 && meter_[i].start_tick > tick) --i;
  return meter_[i];
}

bool TempoMap::set_tempo(int64_t tick, double tempo_bpm) {
  if (!(tempo_bpm > 0.0)) return false;
  TempoSegment& last = tempo_[n_tempo_ - 1];
  if (tick < last.start_tick) return false;
  if (tick == last.start_tick) {
    last.tempo_bpm = tempo_bpm;
    last.frames_per_tick = frames_per_tick(tempo_bpm);
    return true;
  }
  if (n_tempo_ == kMaxTempoSegments) return false;
  tempo_[n_tempo_] = {tick, frame_at(tick), tempo_bpm, frames_per_tick(tempo_bpm)};
  ++n_tempo_;
  return true;
}

int64_t TempoMap::set_tempo_at_next_beat(int64_t not_before_tick, double tempo_bpm) {
  const int64_t last_start = tempo_[n_tempo_ - 1].start_tick;
  int64_t boundary =
      next_beat_boundary(not_before_tick < last_start ? last_start : not_before_tick);
  return set_tempo(boundary, tempo_bpm) ? boundary : -1;
}

bool TempoMap::set_time_signature(int64_t tick, TimeSignature time_signature) {
  if (time_signature.numerator <= 0 || time_signature.denominator <= 0 ||
      (time_signature.denominator & (time_signature.denominator - 1)) != 0 ||
      ticks_per_quarter_ * 4 % time_signature.denominator != 0) {
    return false;
  }
  MeterSegment& last = meter_[n_meter_ - 1];
  if (tick < last.start_tick) return false;
  if (tick == last.start_tick) {
    last.time_signature = time_signature;
    return true;
  }
  if (n_meter_ == kMaxMeterSegments) return false;
  const BarBeatTick at = bar_beat_tick(tick);
  const bool on_bar_start = at.beat == 0 && at.tick == 0;
  meter_[n_meter_] = {tick, on_bar_start ? at.bar : at.bar + 1, time_signature};
  ++n_meter_;
  return true;
}

int64_t TempoMap::frame_at(int64_t tick) const {
  const TempoSegment& s = tempo_segment_at_tick(tick);
  return s.start_frame + static_cast<int64_t>(std::llround(
                             static_cast<double>(tick - s.start_tick) * s.frames_per_tick));
}

int64_t TempoMap::tick_at(int64_t frame) const {
  const TempoSegment& s = tempo_segment_at_frame(frame);
  int64_t tick = s.start_tick +
                 static_cast<int64_t>(
                     std::floor(static_cast<double>(frame - s.start_frame) / s.frames_per_tick));
  // The division may be off by one against frame_at()'s rounding: settle it exactly.
  while (frame_at(tick + 1) <= frame) ++tick;
  while (frame_at(tick) > frame) --tick;
  return tick;
}

int64_t TempoMap::first_tick_at_or_after(int64_t frame) const {
  const int64_t tick = tick_at(frame);
  return frame_at(tick) == frame ? tick : tick + 1;
}

double TempoMap::tempo_bpm_at(int64_t tick) const { return tempo_segment_at_tick(tick).tempo_bpm; }

TimeSignature TempoMap::time_signature_at(int64_t tick) const {
  return meter_segment_at_tick(tick).time_signature;
}

int64_t TempoMap::ticks_per_beat_at(int64_t tick) const {
  return ticks_per_beat(meter_segment_at_tick(tick).time_signature);
}

BarBeatTick TempoMap::bar_beat_tick(int64_t tick) const {
  const MeterSegment& m = meter_segment_at_tick(tick);
  const int64_t beat_ticks = ticks_per_beat(m.time_signature);
  const int64_t bar_ticks = beat_ticks * m.time_signature.numerator;
  const int64_t since = tick - m.start_tick;
  const int64_t bars = floor_div(since, bar_ticks);
  const int64_t in_bar = since - bars * bar_ticks;
  return {m.start_bar + bars, static_cast<int>(in_bar / beat_ticks),
          static_cast<int>(in_bar % beat_ticks)};
}

int64_t TempoMap::next_beat_boundary(int64_t tick) const {
  const MeterSegment& m = meter_segment_at_tick(tick);
  const int64_t beat_ticks = ticks_per_beat(m.time_signature);
  const int64_t beats = floor_div(tick - m.start_tick + beat_ticks - 1, beat_ticks);
  return m.start_tick + beats * beat_ticks;
}

void TempoMap::forget_before(int64_t tick) {
  size_t drop = 0;
  while (drop + 1 < n_tempo_ && tempo_[drop + 1].start_tick <= tick) ++drop;
  for (size_t i = drop; i < n_tempo_; ++i) tempo_[i - drop] = tempo_[i];
  n_tempo_ -= drop;
  drop = 0;
  while (drop + 1 < n_meter_ && meter_[drop + 1].start_tick <= tick) ++drop;
  for (size_t i = drop; i < n_meter_; ++i) meter_[i - drop] = meter_[i];
  n_meter_ -= drop;
}

}  // namespace jamd::realtime
