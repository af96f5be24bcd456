// TempoMap: the musical clock (bar, beat, tick; tempo; time signature) tied to the sample clock.
// Ticks count pulses per quarter note (MIDI's convention); frames count samples from the origin.
//
//   TempoMap map(48000, 480);                    // 48 kHz, 480 ticks per quarter, 120 BPM, 4/4
//   map.set_tempo(4 * 480, 90.0);                // from beat 4 on (an exact tick, as in a file)
//   map.set_tempo_at_next_beat(tick_now, 100.0); // live: lands on the next beat boundary
//   int64_t f = map.frame_at(8 * 480);           // exact to the sample (rounded once)
//   BarBeatTick pos = map.bar_beat_tick(map.tick_at(f));
//
// Thread safety: a plain value with fixed-size storage (never allocates, so the RT thread may own
// one). Not synchronized: one thread owns each copy.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace jamd::realtime {

struct TimeSignature {
  int numerator = 4;
  int denominator = 4;  // a power of two: 2, 4, 8, 16...
  bool operator==(const TimeSignature&) const = default;
};

// A position for people: bar and beat from 0, tick inside the beat. The beat is the time
// signature's denominator note (an eighth in 6/8).
struct BarBeatTick {
  int64_t bar = 0;
  int beat = 0;
  int tick = 0;
  bool operator==(const BarBeatTick&) const = default;
};

class TempoMap {
 public:
  // Enough for any song we play and for hours of live tempo steering once forget_before() runs.
  static constexpr size_t kMaxTempoSegments = 256;
  static constexpr size_t kMaxMeterSegments = 64;

  TempoMap(uint32_t sample_rate_hz, int ticks_per_quarter, double tempo_bpm = 120.0,
           TimeSignature time_signature = {});

  uint32_t sample_rate_hz() const { return sample_rate_hz_; }
  int ticks_per_quarter() const { return ticks_per_quarter_; }

  // Tempo (quarter notes per minute) from `tick` on. `tick` must not precede the last change;
  // at the same tick the new tempo replaces it. False (map unchanged) when full or out of order.
  bool set_tempo(int64_t tick, double tempo_bpm);
  // The live rule: the change lands on the first beat boundary at or after not_before_tick.
  // Returns that tick, or -1 when the map is full.
  int64_t set_tempo_at_next_beat(int64_t not_before_tick, double tempo_bpm);
  // Meter from `tick` on (normally a bar start); bars count on from there. Same ordering rule.
  bool set_time_signature(int64_t tick, TimeSignature time_signature);

  // The frame where `tick` sounds: exact, rounded to the nearest sample once per segment.
  int64_t frame_at(int64_t tick) const;
  // The last tick whose frame_at() is <= frame (ticks before the origin are negative).
  int64_t tick_at(int64_t frame) const;
  // The first tick whose frame_at() is >= frame.
  int64_t first_tick_at_or_after(int64_t frame) const;

  double tempo_bpm_at(int64_t tick) const;
  TimeSignature time_signature_at(int64_t tick) const;
  BarBeatTick bar_beat_tick(int64_t tick) const;
  int64_t ticks_per_beat_at(int64_t tick) const;
  // The first beat boundary (of the meter in force) at or after `tick`.
  int64_t next_beat_boundary(int64_t tick) const;

  // Drops segments that end at or before `tick` (the playhead), keeping the map bounded.
  void forget_before(int64_t tick);

  size_t n_tempo_segments() const { return n_tempo_; }

 private:
  struct TempoSegment {
    int64_t start_tick = 0;
    int64_t start_frame = 0;
    double tempo_bpm = 120.0;
    double frames_per_tick = 0.0;
  };
  struct MeterSegment {
    int64_t start_tick = 0;
    int64_t start_bar = 0;
    TimeSignature time_signature;
  };

  double frames_per_tick(double tempo_bpm) const;
  const TempoSegment& tempo_segment_at_tick(int64_t tick) const;
  const TempoSegment& tempo_segment_at_frame(int64_t frame) const;
  const MeterSegment& meter_segment_at_tick(int64_t tick) const;
  int64_t ticks_per_beat(const TimeSignature& ts) const;

  uint32_t sample_rate_hz_;
  int ticks_per_quarter_;
  std::array<TempoSegment, kMaxTempoSegments> tempo_{};
  size_t n_tempo_ = 0;
  std::array<MeterSegment, kMaxMeterSegments> meter_{};
  size_t n_meter_ = 0;
};

}  // namespace jamd::realtime
