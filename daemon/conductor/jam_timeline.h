// JamTimeline: one jam's bars on its sample clock (the conductor's own copy of the tempo map it
// posts to the RT side) and the jam's seat at the realtime Scheduler: parts to MIDI channels and
// General MIDI programs, notes to note-on/off events, instant controls (volume, mute, stop).
//
//   JamTimeline timeline(scheduler, {.sample_rate_hz = 48000, .tempo_bpm = 96});
//   int64_t tick = timeline.tick_at(scheduler.playhead_frame());
//   timeline.post_note({.tick = timeline.bar_start_tick(4), .duration_ticks = 480, .pitch = 40,
//                       .velocity = 90, .part = kPartBass});
//   timeline.set_tempo_at_next_beat(tick, 104.0);   // both maps: the conductor's and the RT one
//
// Thread safety: the conductor thread owns a timeline (// thread: conductor for every method);
// it is the scheduler's one producer.
#pragma once

#include <array>
#include <cstdint>

#include "daemon/jam/jam_state.h"
#include "realtime/core/scheduler.h"
#include "realtime/core/tempo_map.h"
#include "realtime/synth/synth.h"

namespace jamd {

// The conductor's musical resolution: MIDI's common 480 per quarter (40 per model grid step).
inline constexpr int kConductorTicksPerQuarter = 480;
// The musician's part plays (and MIDI out carries it) on channel 1; the band's parts on 2..5 and
// GM drums on 10.
inline constexpr int kHumanChannel = 0;
inline constexpr std::array<int, kNumParts> kPartChannel = {realtime::kGmDrumChannel, 1, 2, 3, 4};

struct JamTimelineOptions {
  uint32_t sample_rate_hz = 48000;
  double tempo_bpm = 120.0;
  int beats_per_bar = 4;
  int64_t origin_frame = 0;  // the sample clock at bar 0, beat 0
  int64_t end_bar = 0;       // the jam ends before this bar (offline renders); 0: never
};

// A note as the timeline schedules it, in conductor ticks from bar 0.
struct TimedNote {
  int64_t tick = 0;
  int64_t duration_ticks = 0;
  int pitch = 60;
  int velocity = 100;
  int part = kPartKeys;  // PartIndex, or -1 for the musician
};

class JamTimeline {
 public:
  JamTimeline(realtime::Scheduler& scheduler, const JamTimelineOptions& options);

  int64_t bar_ticks() const { return bar_ticks_; }
  int64_t beat_ticks() const { return kConductorTicksPerQuarter; }
  int64_t bar_start_tick(int64_t bar) const { return bar * bar_ticks_; }
  int64_t bar_of(int64_t tick) const;  // floor; bars before 0 are negative
  // Sample clock <-> ticks with the same rule as the RT thread's map (exact to the sample).
  int64_t tick_at(int64_t frame) const { return map_.tick_at(frame - origin_frame_); }
  int64_t frame_at(int64_t tick) const { return map_.frame_at(tick) + origin_frame_; }
  double tempo_bpm_at(int64_t tick) const { return map_.tempo_bpm_at(tick); }
  // Ticks that `ms` milliseconds last at the tempo sounding at `tick`.
  int64_t ticks_for_ms(double ms, int64_t tick) const;
  int beats_per_bar() const { return beats_per_bar_; }
  uint32_t sample_rate_hz() const { return map_.sample_rate_hz(); }

  // Posts a note-on and its note-off. False when the scheduler's queue refused one (counted).
  bool post_note(const TimedNote& note);
  // The band had no plan for [from_tick, until_tick): counted in the scheduler, for the operator.
  void count_unplanned(int64_t from_tick, int64_t until_tick);
  // The live tempo rule, on the conductor's copy and the RT map alike.
  bool set_tempo_at_next_beat(int64_t not_before_tick, double tempo_bpm);

  // Instant controls: programs and volumes (volume x master, mute = 0) at the next period.
  void send_mix(const JamState& state);
  void silence_part(int part);  // all notes off on the part's channel, at once
  void stop();                  // drops the schedule and silences the band

 private:
  realtime::Scheduler& scheduler_;
  realtime::TempoMap map_;
  int64_t origin_frame_;
  int beats_per_bar_;
  int64_t bar_ticks_;
};

}  // namespace jamd
