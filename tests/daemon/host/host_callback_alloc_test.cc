// HostCallback under the RT allocation trap: periods of a dense band with MIDI in (played by the
// monitor), audio in, instant controls (mute, volume, stop, resume) and full rings, each period
// inside a trapping RT section, which aborts on any malloc or free
// (tests/realtime/core/rt_alloc_trap.h). The synth runs dry: FluidSynth's OpenMP effects
// allocate (docs/realtime.md).
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "daemon/host/host_callback.h"
#include "tests/realtime/core/rt_alloc_trap.h"

namespace jamd {
namespace {

constexpr uint32_t kRate = 48000;
constexpr uint32_t kPeriod = 256;

// A MIDI out port with room for a period's messages, preallocated.
class CountingMidiOut : public realtime::MidiOut {
 public:
  bool write(const realtime::MidiMessage&) override {
    ++written;
    return true;
  }
  uint64_t written = 0;
};

TEST(HostCallbackAllocTest, PeriodsNeverAllocate) {
  realtime::SynthOptions synth_options;
  synth_options.sample_rate_hz = kRate;
  synth_options.reverb.enabled = false;
  synth_options.chorus.enabled = false;
  auto synth = realtime::Synth::create(synth_options);
  ASSERT_TRUE(synth.ok()) << synth.status();
  realtime::Scheduler scheduler(
      {.sample_rate_hz = kRate, .ticks_per_quarter = 480, .tempo_bpm = 120.0, .max_events = 65536});
  realtime::Band band(scheduler, **synth);
  realtime::AudioRing capture(kRate, 2);
  realtime::SpscRing<realtime::TimedMidiMessage> midi_in(256);
  realtime::AudioRing mix(kRate / 2, 2);
  realtime::SpscRing<TapEvent> events(4096);
  realtime::SpscRing<InstantControls> controls(16);
  JamState state;
  HostCallback callback(band, **synth, scheduler, {capture, midi_in, mix, events, controls},
                        /*lead_in_frames=*/kPeriod * 4, /*capture_audio=*/true,
                        instant_controls_of(state), MonitorOptions{});

  // Sixteenths on every part for 4 s (at 120 BPM, 120 ticks each).
  for (int64_t tick = 0; tick < 8 * 480; tick += 120) {
    for (int channel : kPartChannel) {
      ASSERT_TRUE(scheduler.note_on(tick, channel, 48 + static_cast<int>(tick / 120 % 24), 100));
      ASSERT_TRUE(scheduler.note_off(tick + 100, channel, 48 + static_cast<int>(tick / 120 % 24)));
    }
  }
  std::vector<float> in(kPeriod, 0.1f), out_l(kPeriod), out_r(kPeriod);
  const std::array<realtime::MidiMessage, 2> heard = {
      realtime::MidiMessage{.frame = 3, .size = 3, .bytes = {0x90, 60, 90}},
      realtime::MidiMessage{.frame = 200, .size = 3, .bytes = {0x80, 60, 0}}};
  CountingMidiOut midi_out;
  std::vector<float> drain(2 * (capture.capacity_frames() + mix.capacity_frames()));
  uint64_t events_seen = 0;
  const int n_periods = static_cast<int>(4 * kRate / kPeriod);
  for (int i = 0; i < n_periods; ++i) {
    // The producer's side, outside the RT section.
    bool changed = true;
    if (i == n_periods / 4)
      state.parts[kPartBass].muted = true;
    else if (i == n_periods / 3)
      state.parts[kPartKeys].volume = 0.3f;
    else if (i == n_periods / 2)
      state.playing = false;
    else if (i == 2 * n_periods / 3)
      state.playing = true;
    else
      changed = false;
    if (changed) {
      ASSERT_TRUE(controls.try_push(instant_controls_of(state)));
    }
    realtime::ProcessBlock block;
    block.n_frames = kPeriod;
    block.first_frame = static_cast<uint64_t>(i) * kPeriod;
    block.audio_in[0] = in;
    block.audio_in[1] = in;
    block.audio_out[0] = out_l;
    block.audio_out[1] = out_r;
    block.midi_in = heard;
    block.midi_out = &midi_out;
    {
      realtime::RtSection rt(realtime::RtSection::Mode::kTrap);
      callback.process(block);
    }
    // The consumers fall behind in the first half (full rings: dropped and counted), then keep up.
    if (i > n_periods / 2) {
      TapEvent e;
      while (events.try_pop(e)) ++events_seen;
      mix.read_interleaved(std::span(drain).first(mix.fill_frames() * 2));
      capture.read_interleaved(std::span(drain).first(capture.fill_frames() * 2));
      realtime::TimedMidiMessage m;
      while (midi_in.try_pop(m)) {
      }
    }
  }
  EXPECT_GT(midi_out.written, 100u);
  EXPECT_GT(events_seen, 100u);
  EXPECT_EQ(callback.counters().controls_applied.load(), 4u);
  // The musician's notes went through the monitor to the synth inside the trapped sections.
  EXPECT_EQ(callback.counters().monitor_messages.load(), 2u * (n_periods - 4));  // after lead-in
  EXPECT_GT(callback.counters().mix_frames_lost.load(), 0u);  // the full ring was exercised
  EXPECT_EQ(callback.jam_origin_io_frame(), uint64_t{kPeriod} * 4);
}

}  // namespace
}  // namespace jamd
