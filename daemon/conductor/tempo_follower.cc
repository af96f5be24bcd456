// TempoFollower: the heard tempo's median, the phase correction of the next beat, steered ramps.
#include "daemon/conductor/tempo_follower.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace jamd {
namespace {

constexpr size_t kHeardTempi = 3;         // the median of the last three beats' tempi
constexpr double kHeardStaleBeats = 2.0;  // older heard beats no longer steer the band
constexpr double kMaxTrend = 0.03;        // the extrapolation moves the tempo at most 3 %
constexpr double kMinTempoBpm = 30.0;
constexpr double kMaxTempoBpm = 300.0;

}  // namespace

TempoFollower::TempoFollower(const TempoOptions& options, double tempo_bpm)
    : options_(options), target_bpm_(tempo_bpm), ramp_step_(options.ramp_beats) {}

void TempoFollower::steer(double tempo_bpm) {
  target_bpm_ = tempo_bpm;
  ramp_from_bpm_ = -1.0;  // the tempo sounding when the ramp starts
  ramp_step_ = 0.0;
}

void TempoFollower::hear_beat(int64_t frame, double tempo_bpm, uint32_t sample_rate_hz) {
  if (!(tempo_bpm >= kMinTempoBpm && tempo_bpm <= kMaxTempoBpm)) return;
  // The tempo between this beat and the last one when they are neighbours (the listener's own
  // tempo is smoothed over more beats and lags a musician who speeds up), else the listener's.
  double bpm = tempo_bpm;
  if (last_beat_frame_ >= 0 && frame > last_beat_frame_) {
    const double between = 60.0 * sample_rate_hz / static_cast<double>(frame - last_beat_frame_);
    if (std::abs(between / tempo_bpm - 1.0) < 0.15) bpm = between;
  }
  heard_tempi_.push_back(bpm);
  if (heard_tempi_.size() > kHeardTempi) heard_tempi_.pop_front();
  last_beat_frame_ = frame;
}

double TempoFollower::heard_tempo_bpm() const {
  std::vector<double> v(heard_tempi_.begin(), heard_tempi_.end());
  std::sort(v.begin(), v.end());
  const double median =
      v.size() % 2 == 1 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  if (heard_tempi_.size() < 2) return median;
  // A musician speeding up or slowing down: the median lags by about a beat and the beat being
  // planned is about two beats past it, so extrapolate the trend (bounded: a stray beat must not
  // throw the band).
  const double trend =
      (heard_tempi_.back() - heard_tempi_.front()) / static_cast<double>(heard_tempi_.size() - 1);
  return median + std::clamp(2.0 * trend, -kMaxTrend * median, kMaxTrend * median);
}

std::optional<double> TempoFollower::next_beat_tempo(const JamTimeline& timeline, int64_t now_tick,
                                                     bool following) {
  const int64_t beat_ticks = timeline.beat_ticks();
  const int64_t beat = now_tick >= 0 ? now_tick / beat_ticks : -1;
  // Decide half a beat before the boundary: the musician's latest beat has been heard by then.
  if (beat == decided_beat_ || now_tick - beat * beat_ticks < beat_ticks / 2) return std::nullopt;
  decided_beat_ = beat;
  const double rate = timeline.sample_rate_hz();
  const int64_t next_boundary = (beat + 1) * beat_ticks;
  const double boundary_frame = static_cast<double>(timeline.frame_at(next_boundary));
  const double now_bpm = timeline.tempo_bpm_at(now_tick);
  if (following && options_.follow_heard && !heard_tempi_.empty()) {
    const double heard_bpm = heard_tempo_bpm();
    const double heard_period = 60.0 * rate / heard_bpm;
    const double since_heard = boundary_frame - static_cast<double>(last_beat_frame_);
    if (since_heard <= kHeardStaleBeats * heard_period + heard_period) {
      // The musician's beat nearest the band's next one, and the band's error against it.
      const double musician_beat = static_cast<double>(last_beat_frame_) +
                                   std::round(since_heard / heard_period) * heard_period;
      const double error = boundary_frame - musician_beat;  // > 0: the band is late
      const double period =
          std::clamp(heard_period - error, heard_period * (1.0 - options_.max_phase_step),
                     heard_period * (1.0 + options_.max_phase_step));
      const double bpm = std::clamp(60.0 * rate / period, kMinTempoBpm, kMaxTempoBpm);
      target_bpm_ = heard_bpm;  // when the musician stops, the band keeps their tempo
      ramp_step_ = options_.ramp_beats;
      if (std::abs(bpm - now_bpm) < 1e-3) return std::nullopt;
      return bpm;
    }
  }
  if (ramp_step_ < options_.ramp_beats) {
    if (ramp_from_bpm_ < 0) ramp_from_bpm_ = now_bpm;
    ramp_step_ += 1.0;
    return ramp_from_bpm_ + (target_bpm_ - ramp_from_bpm_) *
                                std::min(1.0, ramp_step_ / std::max(1.0, options_.ramp_beats));
  }
  // A phase correction ends: back to the tempo itself.
  if (std::abs(now_bpm - target_bpm_) > 1e-3) return target_bpm_;
  return std::nullopt;
}

}  // namespace jamd
