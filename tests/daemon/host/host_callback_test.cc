// HostCallback period by period on a hand-driven clock, with the real synth and scheduler: the
// musician's monitor plays a note from midi_in at its own frame in the same period (the added
// latency is printed), follows its instant volume and stays off when disabled; a stop silences
// the band in the period it is applied in (effect tails included), notes the conductor sends
// before it learns of the stop never sound, and playing again resumes.
#include "daemon/host/host_callback.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <span>
#include <vector>

namespace jamd {
namespace {

constexpr uint32_t kRate = 48000;
constexpr uint32_t kPeriod = 256;
constexpr int kTpq = 480;
constexpr float kSilence = 1e-4f;           // -80 dBFS
constexpr uint32_t kSynthBlockFrames = 64;  // FluidSynth renders in blocks of 64 (synth.h)

class RecordingMidiOut : public realtime::MidiOut {
 public:
  bool write(const realtime::MidiMessage& m) override {
    messages.push_back(m);
    return true;
  }
  int note_ons() const {
    return static_cast<int>(std::count_if(messages.begin(), messages.end(), [](const auto& m) {
      return (m.bytes[0] & 0xF0) == 0x90 && m.bytes[2] > 0;
    }));
  }
  std::vector<realtime::MidiMessage> messages;
};

// One jam's RT side as LiveJamHost wires it, driven by the test a period at a time.
class Chain {
 public:
  Chain(bool effects, const MonitorOptions& monitor, const JamState& state = JamState{}) {
    realtime::SynthOptions synth_options;
    synth_options.sample_rate_hz = kRate;
    synth_options.reverb.enabled = effects;
    synth_options.chorus.enabled = effects;
    synth = std::move(*realtime::Synth::create(synth_options));
    band = std::make_unique<realtime::Band>(scheduler, *synth);
    callback = std::make_unique<HostCallback>(
        *band, *synth, scheduler, HostRings{capture, midi_in, mix, events, controls},
        /*lead_in_frames=*/0, /*capture_audio=*/false, instant_controls_of(state), monitor);
  }

  // Runs the next period with `heard` on midi_in; returns its left channel.
  std::vector<float> period(std::span<const realtime::MidiMessage> heard = {}) {
    std::vector<float> left(kPeriod), right(kPeriod);
    realtime::ProcessBlock block;
    block.n_frames = kPeriod;
    block.first_frame = next_frame_;
    block.audio_out[0] = left;
    block.audio_out[1] = right;
    block.midi_in = heard;
    block.midi_out = &midi_out;
    callback->process(block);
    next_frame_ += kPeriod;
    drain();
    return left;
  }
  uint64_t next_frame() const { return next_frame_; }

  realtime::Scheduler scheduler{{.sample_rate_hz = kRate,
                                 .ticks_per_quarter = kTpq,
                                 .tempo_bpm = 120.0,
                                 .max_events = 65536}};
  std::unique_ptr<realtime::Synth> synth;
  std::unique_ptr<realtime::Band> band;
  realtime::AudioRing capture{kRate, 2};
  realtime::SpscRing<realtime::TimedMidiMessage> midi_in{256};
  realtime::AudioRing mix{kRate, 2};
  realtime::SpscRing<TapEvent> events{4096};
  realtime::SpscRing<InstantControls> controls{16};
  RecordingMidiOut midi_out;
  std::unique_ptr<HostCallback> callback;
  int tapped_note_ons = 0;

 private:
  void drain() {
    std::vector<float> sink(mix.fill_frames() * 2);
    mix.read_interleaved(sink);
    realtime::TimedMidiMessage m;
    while (midi_in.try_pop(m)) {
    }
    TapEvent e;
    while (events.try_pop(e)) tapped_note_ons += e.kind == TapEvent::Kind::kNoteOn;
  }
  uint64_t next_frame_ = 0;
};

float peak(std::span<const float> samples) {
  float p = 0.0f;
  for (float s : samples) p = std::max(p, std::abs(s));
  return p;
}

realtime::MidiMessage note(uint32_t frame, uint8_t status, uint8_t pitch, uint8_t velocity) {
  return {.frame = frame, .size = 3, .bytes = {status, pitch, velocity}};
}

TEST(HostCallbackTest, MonitorPlaysTheMusiciansNoteAtItsFrameInTheSamePeriod) {
  Chain chain(/*effects=*/false, MonitorOptions{.enabled = true, .gm_program = 0});
  for (int i = 0; i < 4; ++i) EXPECT_EQ(peak(chain.period()), 0.0f) << "period " << i;

  constexpr uint32_t kAt = 100;
  // Channel 4: whatever the keyboard sends on, the monitor plays on the human channel.
  const std::array<realtime::MidiMessage, 1> on = {note(kAt, 0x93, 60, 100)};
  const std::vector<float> out = chain.period(on);
  const auto loud = std::find_if(out.begin(), out.end(), [](float s) { return std::abs(s) > 0; });
  ASSERT_NE(loud, out.end()) << "the note did not sound in the period it came in";
  const auto onset = static_cast<uint32_t>(loud - out.begin());
  std::printf(
      "  [monitor] midi_in note-on at frame %u of the period: sound from frame %u "
      "(+%u frames, %.2f ms: FluidSynth starts voices on its 64-frame blocks)\n",
      kAt, onset, onset - kAt, (onset - kAt) * 1000.0 / kRate);
  EXPECT_GE(onset, kAt);
  EXPECT_LT(onset, kAt + kSynthBlockFrames);
  float sounding = peak(out);
  for (int i = 0; i < 8; ++i) sounding = std::max(sounding, peak(chain.period()));
  EXPECT_GT(sounding, 0.01f) << "past the piano's attack";
  EXPECT_EQ(chain.callback->counters().monitor_messages.load(), 1u);
  // The musician's note is theirs: not on the band's MIDI out, not tapped as a generated note.
  EXPECT_EQ(chain.midi_out.note_ons(), 0);
  EXPECT_EQ(chain.tapped_note_ons, 0);

  // Its own instant volume: 0 silences it from the period after the one the controls are
  // applied in (FluidSynth ramps a volume change over a period's length).
  JamState quiet;
  quiet.monitor_volume = 0.0f;
  ASSERT_TRUE(chain.controls.try_push(instant_controls_of(quiet)));
  chain.period();
  EXPECT_LT(peak(chain.period()), kSilence);
  JamState loud_again;
  ASSERT_TRUE(chain.controls.try_push(instant_controls_of(loud_again)));
  EXPECT_GT(peak(chain.period()), 0.01f) << "the held note comes back with the volume";
  const std::array<realtime::MidiMessage, 1> off = {note(0, 0x83, 60, 0)};
  chain.period(off);
  for (int i = 0; i < 400 && peak(chain.period()) > 0; ++i) {
  }
  EXPECT_EQ(peak(chain.period()), 0.0f) << "the note-off ended it";
}

TEST(HostCallbackTest, MonitorOffPlaysNothing) {
  Chain chain(/*effects=*/false, MonitorOptions{.enabled = false});
  const std::array<realtime::MidiMessage, 1> on = {note(10, 0x90, 60, 100)};
  EXPECT_EQ(peak(chain.period(on)), 0.0f);
  EXPECT_EQ(peak(chain.period()), 0.0f);
  EXPECT_EQ(chain.callback->counters().monitor_messages.load(), 0u);
}

// Quarter notes on bass and keys from `from_tick` for `n` beats, as the conductor posts them.
void post_band(realtime::Scheduler& scheduler, int64_t from_tick, int n) {
  for (int i = 0; i < n; ++i) {
    const int64_t tick = from_tick + int64_t{i} * kTpq;
    for (int part : {kPartBass, kPartKeys}) {
      const int channel = kPartChannel[static_cast<size_t>(part)];
      const int pitch = part == kPartBass ? 40 : 64;
      ASSERT_TRUE(scheduler.note_on(tick, channel, pitch, 100));
      ASSERT_TRUE(scheduler.note_off(tick + kTpq - 40, channel, pitch));
    }
  }
}

TEST(HostCallbackTest, StopSilencesInItsPeriodWithTailsAndPlayingAgainResumes) {
  JamState state;
  Chain chain(/*effects=*/true, MonitorOptions{}, state);
  post_band(chain.scheduler, 0, 16);  // 8 s at 120 BPM: the conductor's plan
  float before = 0.0f;
  for (int i = 0; i < 200; ++i) before = std::max(before, peak(chain.period()));
  ASSERT_GT(before, 0.01f);
  const int note_ons_before = chain.midi_out.note_ons();

  state.playing = false;
  ASSERT_TRUE(chain.controls.try_push(instant_controls_of(state)));
  // Before the conductor hears of the stop it still sends the next beats: none may sound.
  post_band(chain.scheduler, chain.scheduler.playhead_tick() + kTpq, 4);
  float stopped = 0.0f;
  for (int i = 0; i < 400; ++i) stopped = std::max(stopped, peak(chain.period()));
  EXPECT_LT(stopped, kSilence) << "from the stop's own period on, reverb and chorus included";
  EXPECT_EQ(chain.midi_out.note_ons(), note_ons_before);
  EXPECT_EQ(chain.scheduler.pending_events(), 0u);
  EXPECT_GT(chain.scheduler.playhead_tick(), 0) << "the clock runs on while stopped";

  state.playing = true;
  ASSERT_TRUE(chain.controls.try_push(instant_controls_of(state)));
  chain.period();
  // The conductor resumes from the playhead.
  post_band(chain.scheduler, chain.scheduler.playhead_tick() + kTpq / 4, 4);
  float resumed = 0.0f;
  for (int i = 0; i < 200; ++i) resumed = std::max(resumed, peak(chain.period()));
  EXPECT_GT(resumed, 0.01f);
  EXPECT_GT(chain.midi_out.note_ons(), note_ons_before);
  EXPECT_EQ(chain.callback->counters().controls_applied.load(), 2u);
}

TEST(HostCallbackTest, TheMonitorPlaysOnWhileTheBandIsStopped) {
  JamState state;
  state.playing = false;
  Chain chain(/*effects=*/false, MonitorOptions{}, state);
  const std::array<realtime::MidiMessage, 1> on = {note(0, 0x90, 67, 100)};
  float p = peak(chain.period(on));
  for (int i = 0; i < 8; ++i) p = std::max(p, peak(chain.period()));
  EXPECT_GT(p, 0.01f);
}

}  // namespace
}  // namespace jamd
