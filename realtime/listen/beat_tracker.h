// BeatTracker: causal beat and tempo tracking from an onset-strength signal (one value per
// analysis frame). A tempo estimator (autocorrelation with a comb over beat multiples, the
// metrical level chosen by where the accents fall) locks onto the pulse; a phase-locked loop then
// predicts each beat, pulls it onto the onset near the prediction and follows drift and ramps.
//
// Harmonic change (chords change on strong beats, usually every 2 or 4 beats) settles the
// level an accent-free stream of eighths leaves open.
//
//   BeatTracker tracker({.frame_rate_hz = 22050.0 / 256});
//   for (float strength : onset_strength) {
//     tracker.push(strength);
//     for (const TrackedBeat& b : tracker.take_beats()) { /* b.frame, b.tempo_bpm */ }
//     if (tracker.take_lost()) { /* no beat */ }
//   }
//
// Thread safety: a plain object owned by one thread (the listener thread). Allocates only in the
// constructor and take_beats()'s vector (bounded).
#pragma once

#include <cstdint>
#include <vector>

namespace jamd::realtime {

struct BeatTrackerOptions {
  double frame_rate_hz = 22050.0 / 256;  // onset-strength frames per second
  double min_tempo_bpm = 60.0;
  double max_tempo_bpm = 180.0;
  double history_s = 8.0;  // what the tempo estimator looks at
  // What the harmonic-rhythm test looks at: two changes of a chord a bar at 60 BPM need 16 s.
  double harmony_history_s = 16.0;
  double lock_after_s = 2.0;  // the earliest lock: two beats at 60 BPM
  double reestimate_every_s = 0.25;
  // Tempo prior: log-normal around this tempo, this many octaves wide (breaks exact ties only).
  double prior_center_bpm = 110.0;
  double prior_octaves = 1.5;
  // Predicted beats with no onset near them before the pulse counts as lost.
  int max_missed_beats = 8;
};

struct TrackedBeat {
  double frame = 0;          // analysis frame (fractional) where the beat falls
  double decided_frame = 0;  // the analysis frame when it was decided
  double tempo_bpm = 0;
  float confidence = 0;
  int64_t index = 0;  // beats since the last lock
};

class BeatTracker {
 public:
  explicit BeatTracker(const BeatTrackerOptions& options);

  // One frame of onset strength (>= 0) and of harmonic change (0..1, how much the pitch-class
  // content differs from a moment ago; 0 when unknown). thread: listener
  void push(float onset_strength, float harmonic_change = 0.0f);
  // Beats decided since the last call, in order. thread: listener
  std::vector<TrackedBeat> take_beats();
  // True once after the pulse was lost (by reset() or missed beats). thread: listener
  bool take_lost();
  // Forgets the pulse and the history (after silence); reports a loss if it was locked. Frame
  // numbers keep counting.
  void reset();

  bool locked() const { return locked_; }
  double tempo_bpm() const { return locked_ ? 60.0 * options_.frame_rate_hz / period_ : 0.0; }
  double period_frames() const { return period_; }
  int64_t frames_pushed() const { return n_; }

 private:
  struct TempoEstimate {
    double period = 0;  // frames per beat
    float confidence = 0;
    // The metrical level was decided by evidence (accents, or the harmony's rhythm), not by
    // default: only such estimates may switch a locked pulse to another level.
    bool level_known = false;
  };
  enum class HarmonicRhythm { kUnknown, kEveryEight, kOther };
  float x_at(int64_t frame) const;  // the enhanced onset strength of a past frame
  TempoEstimate estimate_tempo() const;
  double comb_score(const std::vector<float>& acf, double lag) const;
  double accent_share(double period, int64_t n_frames) const;
  double best_phase(double period) const;
  HarmonicRhythm harmonic_rhythm(double period) const;
  void lock(const TempoEstimate& estimate);
  void follow(const TempoEstimate& estimate);
  void decide_beat();
  void check_phase();
  void lose();

  BeatTrackerOptions options_;
  int64_t history_frames_;
  std::vector<float> odf_;  // ring of raw onset strength
  std::vector<float> x_;    // ring of enhanced onset strength
  int64_t harmony_frames_;
  std::vector<float> h_;  // ring of harmonic change, harmony_frames_ long
  int64_t n_ = 0;         // frames pushed
  int64_t start_ = 0;     // the first frame since the last reset()
  int64_t frames_since_estimate_ = 0;
  int64_t quiet_frames_ = 0;
  bool locked_ = false;
  double period_ = 0;     // frames per beat
  double next_beat_ = 0;  // predicted frame of the next beat
  int64_t beat_index_ = 0;
  int64_t locked_at_ = 0;  // the frame of the last lock
  int missed_ = 0;
  int disagreements_ = 0;
  int phase_disagreements_ = 0;
  double disagreement_period_ = 0;
  float tempo_confidence_ = 0;
  float hit_rate_ = 0;  // smoothed fraction of beats that found an onset
  bool lost_ = false;
  std::vector<TrackedBeat> beats_;
};

}  // namespace jamd::realtime
