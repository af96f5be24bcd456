// JamTimeline: bar arithmetic on the conductor's tempo map copy, and what the jam posts to the
// scheduler (notes, tempo, programs, volumes, stop).
#include "daemon/conductor/jam_timeline.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace jamd {
namespace {

constexpr int kControllerVolume = 7;         // MIDI CC 7, channel volume
constexpr int kControllerAllNotesOff = 123;  // MIDI CC 123

realtime::MidiMessage channel_message(uint8_t status, int channel, int data1, int data2) {
  realtime::MidiMessage m;
  m.size = 3;
  m.bytes[0] = static_cast<uint8_t>(status | (channel & 0x0F));
  m.bytes[1] = static_cast<uint8_t>(data1 & 0x7F);
  m.bytes[2] = static_cast<uint8_t>(data2 & 0x7F);
  return m;
}

}  // namespace

JamTimeline::JamTimeline(realtime::Scheduler& scheduler, const JamTimelineOptions& options)
    : scheduler_(scheduler),
      map_(options.sample_rate_hz, kConductorTicksPerQuarter, options.tempo_bpm,
           realtime::TimeSignature{options.beats_per_bar, 4}),
      origin_frame_(options.origin_frame),
      beats_per_bar_(options.beats_per_bar),
      bar_ticks_(int64_t{options.beats_per_bar} * kConductorTicksPerQuarter) {
  assert(options.beats_per_bar > 0);
}

int64_t JamTimeline::bar_of(int64_t tick) const {
  return tick >= 0 ? tick / bar_ticks_ : -((-tick + bar_ticks_ - 1) / bar_ticks_);
}

int64_t JamTimeline::ticks_for_ms(double ms, int64_t tick) const {
  const double ticks = ms / 1000.0 * tempo_bpm_at(tick) / 60.0 * kConductorTicksPerQuarter;
  return std::max<int64_t>(0, std::llround(ticks));
}

bool JamTimeline::post_note(const TimedNote& note) {
  const int channel = note.part < 0 ? kHumanChannel : kPartChannel[static_cast<size_t>(note.part)];
  const bool on = scheduler_.note_on(note.tick, channel, note.pitch, note.velocity);
  const bool off = scheduler_.note_off(note.tick + std::max<int64_t>(1, note.duration_ticks),
                                       channel, note.pitch);
  return on && off;
}

void JamTimeline::count_unplanned(int64_t from_tick, int64_t until_tick) {
  const int64_t frames = frame_at(until_tick) - frame_at(from_tick);
  if (frames > 0) scheduler_.count_unplanned(static_cast<uint64_t>(frames));
}

bool JamTimeline::set_tempo_at_next_beat(int64_t not_before_tick, double tempo_bpm) {
  // A jam that follows a musician changes tempo nearly every beat: keep the copy bounded, with
  // two bars of past for the heard events that arrive a little late.
  if (map_.n_tempo_segments() > realtime::TempoMap::kMaxTempoSegments / 2) {
    map_.forget_before(not_before_tick - 2 * bar_ticks_);
  }
  if (map_.set_tempo_at_next_beat(not_before_tick, tempo_bpm) < 0) return false;
  return scheduler_.change_tempo_at_next_beat(not_before_tick, tempo_bpm);
}

void JamTimeline::send_mix(const JamState& state) {
  for (int p = 0; p < kNumParts; ++p) {
    const PartState& part = state.parts[static_cast<size_t>(p)];
    const int channel = kPartChannel[static_cast<size_t>(p)];
    if (p != kPartDrums) {
      realtime::MidiMessage program = channel_message(0xC0, channel, part.gm_program, 0);
      program.size = 2;
      scheduler_.send_now(program);
    }
    const float level =
        part.muted ? 0.0f : std::clamp(part.volume * state.master_volume, 0.0f, 1.0f);
    scheduler_.send_now(channel_message(0xB0, channel, kControllerVolume,
                                        static_cast<int>(std::lround(level * 127))));
  }
}

void JamTimeline::silence_part(int part) {
  scheduler_.send_now(
      channel_message(0xB0, kPartChannel[static_cast<size_t>(part)], kControllerAllNotesOff, 0));
}

void JamTimeline::stop() { scheduler_.stop(); }

}  // namespace jamd
