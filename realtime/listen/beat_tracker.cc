// Causal beat tracking: autocorrelation tempo estimate, accent-based metrical level, and a
// phase-locked loop that predicts beats and pulls them onto nearby onsets.
#include "realtime/listen/beat_tracker.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace jamd::realtime {
namespace {

// Window of the local mean subtracted from onset strength: 0.1 s keeps a stream of eighths at
// 180 BPM (167 ms apart) out of each other's baseline.
constexpr double kLocalMeanS = 0.1;
// How far around a predicted beat an onset may pull it, as a fraction of the beat, and the most
// the decision may wait for that window to pass (the beat's decision latency).
constexpr double kSearchBeats = 0.15;
constexpr double kMaxSearchS = 0.08;
// Phase-locked loop gains: how much of the timing error moves this beat and the period.
constexpr double kPhaseGain = 0.6;
constexpr double kPeriodGain = 0.12;
// A new tempo estimate this far from the loop's period is a tempo change (or a level switch)
// once it persists.
constexpr double kTempoChangeRatio = 0.05;
constexpr int kTempoChangeEstimates = 4;  // 1 s at one estimate per 0.25 s
// In the first seconds after a lock, which saw only two seconds, the estimate is still young: a
// faster tempo (a melody at 150 BPM first heard at 2/3, 100) needs half the evidence. Not a
// slower one: an arpeggio's notes also line up at 2/3 of its beat, and ring on into it.
constexpr double kYoungLockS = 4.0;
constexpr int kYoungTempoChangeEstimates = 2;
constexpr int kLevelSwitchEstimates = 12;  // 3 s: doubling or halving needs more evidence
// The slower of two metrical levels wins when this share of its beats are kAccentRatio stronger
// than the points half-way between them (accents, bass notes, chord changes fall on beats).
constexpr double kSlowLevelAccentShare = 0.9;
constexpr float kAccentRatio = 1.3f;
constexpr int kCombTerms = 4;
constexpr int kLockBackfillBeats = 3;        // beats before the lock reported with it...
constexpr float kBackfillOnsetShare = 0.2f;  // ...when an onset this strong falls on them
// Harmonic rhythm: lags up to this share of the history, and the normalised autocorrelation
// that counts as a repeating chord change.
constexpr double kChordLagShare = 0.8;
constexpr double kChordCorrelation = 0.25;
// ... and a change every four beats is ruled out while the correlation at four is below this
// share of the one at eight (an arpeggio's own pattern repeats every four eighths: ~0.3 of it).
constexpr double kChordEveryFourShare = 0.7;
// Chords every eight beats count the slower level only when at least this share of its beats
// are accented: a fast pulse whose offbeats carry the accents stays fast.
constexpr double kEveryEightAccentShare = 0.5;
// The beats' phase moves to where the whole history puts it when that is this far off (a
// fraction of the beat) for this many estimates in a row (1 s).
constexpr double kPhaseJumpBeats = 0.2;
constexpr int kPhaseJumpEstimates = 2;
// A faster level whose comb score reaches this share of the slower one's is the pulse.
constexpr double kFasterLevelShare = 0.5;

}  // namespace

BeatTracker::BeatTracker(const BeatTrackerOptions& options)
    : options_(options),
      history_frames_(static_cast<int64_t>(options.history_s * options.frame_rate_hz)),
      odf_(static_cast<size_t>(history_frames_), 0.0f),
      x_(static_cast<size_t>(history_frames_), 0.0f),
      harmony_frames_(std::max(history_frames_, static_cast<int64_t>(options.harmony_history_s *
                                                                     options.frame_rate_hz))),
      h_(static_cast<size_t>(harmony_frames_), 0.0f) {
  assert(options.frame_rate_hz > 0 && options.min_tempo_bpm > 0 &&
         options.max_tempo_bpm > options.min_tempo_bpm && history_frames_ > 16);
  beats_.reserve(64);
}

float BeatTracker::x_at(int64_t frame) const {
  if (frame < start_ || frame >= n_ || frame <= n_ - history_frames_) return 0.0f;
  return x_[static_cast<size_t>(frame % history_frames_)];
}

void BeatTracker::push(float onset_strength, float harmonic_change) {
  assert(std::isfinite(onset_strength) && std::isfinite(harmonic_change));
  const int64_t m = std::max<int64_t>(1, std::lround(kLocalMeanS * options_.frame_rate_hz));
  float mean = 0;
  int count = 0;
  for (int64_t i = std::max<int64_t>(start_, n_ - m); i < n_; ++i, ++count) {
    mean += odf_[static_cast<size_t>(i % history_frames_)];
  }
  if (count > 0) mean /= static_cast<float>(count);
  const size_t slot = static_cast<size_t>(n_ % history_frames_);
  odf_[slot] = std::max(0.0f, onset_strength);
  x_[slot] = std::max(0.0f, onset_strength - mean);
  h_[static_cast<size_t>(n_ % harmony_frames_)] = harmonic_change;
  ++n_;

  if (++frames_since_estimate_ >=
          std::lround(options_.reestimate_every_s * options_.frame_rate_hz) &&
      n_ - start_ >= std::lround(options_.lock_after_s * options_.frame_rate_hz)) {
    frames_since_estimate_ = 0;
    const TempoEstimate estimate = estimate_tempo();
    if (estimate.period > 0) {
      if (!locked_) {
        lock(estimate);
      } else {
        follow(estimate);
      }
    }
  }
  if (locked_) {
    const double search = std::min(kSearchBeats * period_, kMaxSearchS * options_.frame_rate_hz);
    if (static_cast<double>(n_ - 1) >= next_beat_ + search) decide_beat();
  }
}

double BeatTracker::comb_score(const std::vector<float>& acf, double lag) const {
  const double max_lag = static_cast<double>(acf.size() - 1);
  double sum = 0;
  int terms = 0;
  for (int k = 1; k <= kCombTerms; ++k) {
    const double l = k * lag;
    if (l > max_lag) break;
    const size_t i = static_cast<size_t>(l);
    const double f = l - static_cast<double>(i);
    const double r = i + 1 < acf.size() ? acf[i] * (1 - f) + acf[i + 1] * f : acf[i];
    sum += r;
    ++terms;
  }
  return terms >= 2 ? sum / terms : -1e9;
}

// The share of beats of `period` (at their best phase) clearly stronger than the point half-way
// to the next: near 1 when every beat of this level is accented, ~0.5 or below when only some
// are (a downbeat accent once a bar is not a slower pulse).
double BeatTracker::accent_share(double period, int64_t n_frames) const {
  const double phase_end = best_phase(period);
  const auto peak = [&](double c) {
    const int64_t i = std::lround(c);
    return std::max({x_at(i - 1), x_at(i), x_at(i + 1)});
  };
  int accented = 0, k = 0;
  for (double t = phase_end; t > static_cast<double>(n_ - n_frames) + period; t -= period, ++k) {
    if (peak(t) > kAccentRatio * peak(t - period / 2) + 1e-6f) ++accented;
  }
  return k > 0 ? static_cast<double>(accented) / k : 0.0;
}

BeatTracker::TempoEstimate BeatTracker::estimate_tempo() const {
  const int64_t n_frames = std::min(n_ - start_, history_frames_);
  std::vector<float> y(static_cast<size_t>(n_frames));
  double mean = 0;
  for (int64_t i = 0; i < n_frames; ++i) {
    y[static_cast<size_t>(i)] = x_at(n_ - n_frames + i);
    mean += y[static_cast<size_t>(i)];
  }
  mean /= static_cast<double>(n_frames);
  for (float& v : y) v -= static_cast<float>(mean);
  const double fr = options_.frame_rate_hz;
  const double max_period = 60.0 * fr / options_.min_tempo_bpm;
  const size_t max_lag = static_cast<size_t>(
      std::min<double>(kCombTerms * max_period + 2, 0.7 * static_cast<double>(n_frames)));
  std::vector<float> acf(max_lag + 1);
  for (size_t lag = 0; lag <= max_lag; ++lag) {
    double s = 0;
    for (size_t i = lag; i < y.size(); ++i) s += static_cast<double>(y[i]) * y[i - lag];
    acf[lag] = static_cast<float>(s / static_cast<double>(y.size() - lag));
  }
  if (acf[0] <= 1e-12f) return {};

  double best_score = -1e9, best_bpm = 0;
  for (double bpm = options_.min_tempo_bpm; bpm <= options_.max_tempo_bpm; bpm *= 1.0025) {
    const double score = comb_score(acf, 60.0 * fr / bpm);
    if (score <= 0) continue;
    const double z = std::log2(bpm / options_.prior_center_bpm) / options_.prior_octaves;
    const double weighted = score * std::exp(-0.5 * z * z);
    if (weighted > best_score) best_score = weighted, best_bpm = bpm;
  }
  if (best_bpm == 0) return {};
  // The metrical level: the fastest pulse of the family that the comb supports nearly as well
  // (a stream of eighths makes the eighth a candidate), then the slower pulse when its beats
  // carry the accents (bass notes, chord changes and louder notes fall on beats).
  double period = 60.0 * fr / best_bpm;
  const double min_period = 60.0 * fr / options_.max_tempo_bpm;
  while (period / 2 >= min_period &&
         comb_score(acf, period / 2) >= kFasterLevelShare * comb_score(acf, period)) {
    period /= 2;
  }
  const double slow = 2 * period;
  bool level_known = true;
  if (60.0 * fr / slow >= options_.min_tempo_bpm) {
    const double accents = accent_share(slow, n_frames);
    const HarmonicRhythm rhythm = harmonic_rhythm(period);
    if (comb_score(acf, slow) > 0 && accents >= kSlowLevelAccentShare) {
      period = slow;
    } else if (rhythm == HarmonicRhythm::kEveryEight && accents >= kEveryEightAccentShare) {
      period = slow;
    } else {
      level_known = rhythm != HarmonicRhythm::kUnknown;
    }
  }
  TempoEstimate e;
  e.period = period;
  e.level_known = level_known;
  e.confidence = static_cast<float>(std::clamp(comb_score(acf, period) / acf[0], 0.0, 1.0));
  // Too little history to test the slower level yet (two of its beats): no estimate, rather
  // than a lock at double speed that takes seconds to undo.
  if (60.0 * fr / (2 * period) >= options_.min_tempo_bpm && comb_score(acf, 2 * period) < -1e8) {
    return {};
  }
  return e;
}

// Whether the harmony changes every eight beats of `period` and not every two or four: bars of
// eight beats are rare, so the beat is most likely twice as slow (an arpeggio in eighths).
// Unknown until the history holds two such changes.
BeatTracker::HarmonicRhythm BeatTracker::harmonic_rhythm(double period) const {
  const int64_t n_frames = std::min(n_ - start_, harmony_frames_);
  if (8 * period + 2 > kChordLagShare * static_cast<double>(n_frames)) {
    return HarmonicRhythm::kUnknown;
  }
  std::vector<float> y(static_cast<size_t>(n_frames));
  double mean = 0;
  for (int64_t i = 0; i < n_frames; ++i) {
    const int64_t f = n_ - n_frames + i;
    y[static_cast<size_t>(i)] = h_[static_cast<size_t>(f % harmony_frames_)];
    mean += y[static_cast<size_t>(i)];
  }
  mean /= static_cast<double>(n_frames);
  for (float& v : y) v -= static_cast<float>(mean);
  const auto r = [&](size_t lag) {
    double s = 0;
    for (size_t i = lag; i < y.size(); ++i) s += static_cast<double>(y[i]) * y[i - lag];
    return s / static_cast<double>(y.size() - lag);
  };
  const double r0 = r(0);
  if (r0 <= 1e-9) return HarmonicRhythm::kOther;
  const auto near = [&](double lag) {
    double best = -1e9;
    for (int d = -2; d <= 2; ++d)
      best = std::max(best, r(static_cast<size_t>(std::lround(lag) + d)));
    return best / r0;
  };
  const double r8 = near(8 * period), r4 = near(4 * period), r2 = near(2 * period);
  return r8 > kChordCorrelation && r4 < kChordEveryFourShare * r8 && r2 < 0.5 * r8
             ? HarmonicRhythm::kEveryEight
             : HarmonicRhythm::kOther;
}

// The frame of the most recent beat, for beats `period` apart, that best lines up with the
// onsets of the last few seconds.
double BeatTracker::best_phase(double period) const {
  const int64_t n_frames = std::min(n_ - start_, history_frames_);
  const int terms = std::max(1, static_cast<int>(static_cast<double>(n_frames) / period));
  double best = -1, best_t = static_cast<double>(n_ - 1);
  for (int phi = 0; phi < static_cast<int>(std::ceil(period)); ++phi) {
    const double t0 = static_cast<double>(n_ - 1 - phi);
    double s = 0;
    for (int k = 0; k < terms; ++k) {
      const int64_t i = std::lround(t0 - k * period);
      s += std::max({x_at(i - 1) * 0.5f, x_at(i), x_at(i + 1) * 0.5f});
    }
    if (s > best) best = s, best_t = t0;
  }
  return best_t;
}

void BeatTracker::lock(const TempoEstimate& estimate) {
  if (estimate.confidence < 0.05f) return;
  period_ = estimate.period;
  tempo_confidence_ = estimate.confidence;
  locked_ = true;
  locked_at_ = n_;
  beat_index_ = 0;
  missed_ = 0;
  hit_rate_ = 0.5f;
  disagreements_ = 0;
  const double last = best_phase(period_);
  // The beats the lock explains are reported too, decided now: the listener knew them late,
  // but they are where the pulse was.
  float loudest = 0;
  for (int64_t i = std::max(start_, n_ - history_frames_ + 1); i < n_; ++i) {
    loudest = std::max(loudest, x_at(i));
  }
  const auto heard_near = [&](double t) {
    const int64_t c = std::lround(t);
    return std::max({x_at(c - 2), x_at(c - 1), x_at(c), x_at(c + 1), x_at(c + 2)}) >
           kBackfillOnsetShare * loudest;
  };
  int earlier = 0;  // only beats with an onset on them: never back into silence
  while (earlier < kLockBackfillBeats &&
         last - (earlier + 1) * period_ >= static_cast<double>(start_) + period_ / 2 &&
         heard_near(last - (earlier + 1) * period_)) {
    ++earlier;
  }
  for (int k = earlier; k >= 0; --k) {
    beats_.push_back({last - k * period_, static_cast<double>(n_ - 1), tempo_bpm(),
                      tempo_confidence_ * 0.5f, beat_index_++});
  }
  next_beat_ = last + period_;
}

void BeatTracker::follow(const TempoEstimate& estimate) {
  const double ratio = estimate.period / period_;
  tempo_confidence_ = 0.8f * tempo_confidence_ + 0.2f * estimate.confidence;
  if (std::abs(ratio - 1) < kTempoChangeRatio) {
    disagreements_ = 0;
    period_ += 0.1 * (estimate.period - period_);
    check_phase();
    return;
  }
  const bool level_switch = std::abs(ratio - 2) < 0.15 || std::abs(ratio - 0.5) < 0.08;
  // A level by default (no accents either way, the harmony not yet heard long enough) keeps the
  // level the pulse locked on; only evidence switches it.
  if (level_switch && !estimate.level_known) return;
  const bool consistent = disagreements_ > 0 &&
                          std::abs(estimate.period / disagreement_period_ - 1) < kTempoChangeRatio;
  disagreements_ = consistent ? disagreements_ + 1 : 1;
  disagreement_period_ = estimate.period;
  const bool young = static_cast<double>(n_ - locked_at_) < kYoungLockS * options_.frame_rate_hz &&
                     estimate.period < period_;
  const int needed = level_switch ? kLevelSwitchEstimates
                                  : (young ? kYoungTempoChangeEstimates : kTempoChangeEstimates);
  if (disagreements_ >= needed) {
    period_ = estimate.period;
    disagreements_ = 0;
    // Re-find the phase at the new tempo; the next beat follows the last one that fits.
    const double last = best_phase(period_);
    next_beat_ = last + period_;
    while (next_beat_ < static_cast<double>(n_ - 1) - kSearchBeats * period_) next_beat_ += period_;
  }
}

// The phase chosen at lock saw two seconds; with more history the onsets may say the beats fall
// elsewhere (a swung upbeat louder than a soft downbeat, early on). A phase the whole history
// prefers for long enough wins.
void BeatTracker::check_phase() {
  const double best = best_phase(period_);
  const double predicted = next_beat_ - period_;
  double d = std::fmod(best - predicted, period_);
  if (d >= period_ / 2) d -= period_;
  if (d < -period_ / 2) d += period_;
  if (std::abs(d) < kPhaseJumpBeats * period_) {
    phase_disagreements_ = 0;
    return;
  }
  if (++phase_disagreements_ >= kPhaseJumpEstimates) {
    next_beat_ += d;
    phase_disagreements_ = 0;
  }
}

void BeatTracker::decide_beat() {
  const double search = std::min(kSearchBeats * period_, kMaxSearchS * options_.frame_rate_hz);
  const double sigma = std::max(1.0, search / 2);
  const int64_t lo = static_cast<int64_t>(std::floor(next_beat_ - search));
  const int64_t hi = static_cast<int64_t>(std::ceil(next_beat_ + search));
  double best_w = 0;
  int64_t best_i = -1;
  double level = 0;
  for (int64_t i = lo; i <= hi && i < n_; ++i) {
    const double d = (static_cast<double>(i) - next_beat_) / sigma;
    const double w = x_at(i) * std::exp(-0.5 * d * d);
    if (w > best_w) best_w = w, best_i = i;
  }
  // What counts as an onset here: well above the recent average strength.
  const int64_t span = std::lround(2 * period_);
  for (int64_t i = std::max<int64_t>(start_, n_ - span); i < n_; ++i) level += x_at(i);
  level /= static_cast<double>(std::max<int64_t>(1, std::min(span, n_ - start_)));
  double err = 0;
  const bool hit = best_i >= 0 && x_at(best_i) > 1.5 * level && x_at(best_i) > 1e-6;
  if (hit) {
    double p = static_cast<double>(best_i);
    const double a = x_at(best_i - 1), b = x_at(best_i), c = x_at(best_i + 1);
    const double den = a - 2 * b + c;
    if (den < 0) p += std::clamp(0.5 * (a - c) / den, -0.5, 0.5);
    err = p - next_beat_;
    missed_ = 0;
  } else {
    ++missed_;
  }
  hit_rate_ = 0.8f * hit_rate_ + 0.2f * (hit ? 1.0f : 0.0f);
  const double beat = next_beat_ + kPhaseGain * err;
  period_ = std::clamp(period_ + kPeriodGain * err,
                       60.0 * options_.frame_rate_hz / options_.max_tempo_bpm,
                       60.0 * options_.frame_rate_hz / options_.min_tempo_bpm);
  beats_.push_back({beat, static_cast<double>(n_ - 1), tempo_bpm(),
                    tempo_confidence_ * (0.5f + 0.5f * hit_rate_), beat_index_++});
  next_beat_ = beat + period_;
  if (missed_ >= options_.max_missed_beats) {
    lose();
    start_ = n_;  // the old pulse's onsets must not lock it again
  }
}

void BeatTracker::lose() {
  if (locked_) lost_ = true;
  locked_ = false;
  period_ = 0;
  missed_ = 0;
  disagreements_ = 0;
}

void BeatTracker::reset() {
  lose();
  std::fill(odf_.begin(), odf_.end(), 0.0f);
  std::fill(x_.begin(), x_.end(), 0.0f);
  start_ = n_;
  frames_since_estimate_ = 0;
}

std::vector<TrackedBeat> BeatTracker::take_beats() {
  std::vector<TrackedBeat> out;
  out.swap(beats_);
  beats_.reserve(64);
  return out;
}

bool BeatTracker::take_lost() {
  const bool lost = lost_;
  lost_ = false;
  return lost;
}

}  // namespace jamd::realtime
