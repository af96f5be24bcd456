// TempoFollower: the tempo a jam's next beat takes. While the musician plays, the band follows
// their heard beats: the smoothed heard tempo, with the next beat stretched or shortened so that
// the band's beat after it lands on the musician's (phase lock, a bounded correction per beat);
// otherwise a steered tempo change ramps over a few beats. Every change lands on a beat boundary
// (JamTimeline::set_tempo_at_next_beat), decided once per beat, half a beat before it.
//
//   TempoFollower tempo({.ramp_beats = 4}, 100.0);
//   tempo.steer(120.0);                                   // a JamState with a new tempo
//   tempo.hear_beat(event.frame, event.tempo_bpm, 48000); // the listener's kBeat
//   if (auto bpm = tempo.next_beat_tempo(timeline, now_tick, /*following=*/true)) {
//     timeline.set_tempo_at_next_beat(now_tick, *bpm);
//   }
//
// Thread safety: belongs to the conductor thread (// thread: conductor for every method).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "daemon/conductor/jam_timeline.h"

namespace jamd {

struct TempoOptions {
  bool follow_heard = true;  // accompanying: take the musician's tempo and beat phase
  double ramp_beats = 4.0;   // a steered tempo change is spread over this many beats
  // One beat's length may differ from the heard beat's by this fraction to close a phase error
  // (8 %: a musician hardly notices a beat 8 % long; a quarter-beat error closes in ~3 beats).
  double max_phase_step = 0.08;
};

class TempoFollower {
 public:
  TempoFollower(const TempoOptions& options, double tempo_bpm);

  void steer(double tempo_bpm);  // ramps from the tempo sounding when it starts
  void hear_beat(int64_t frame, double tempo_bpm, uint32_t sample_rate_hz);
  // The tempo for the beat after the one under `now_tick`, once per beat (nullopt: keep it, or
  // not yet time to decide). `following`: the musician plays (accompanying).
  std::optional<double> next_beat_tempo(const JamTimeline& timeline, int64_t now_tick,
                                        bool following);

 private:
  double heard_tempo_bpm() const;  // median of the recent heard tempi

  TempoOptions options_;
  double target_bpm_;
  double ramp_from_bpm_ = 0.0;
  double ramp_step_ = 0.0;  // beats of the ramp done; >= ramp_beats: no ramp
  std::deque<double> heard_tempi_;
  int64_t last_beat_frame_ = -1;
  int64_t decided_beat_ = -1;  // the beat index whose tempo was decided last
};

}  // namespace jamd
