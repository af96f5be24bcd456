// The RT discipline, proven: the scheduler, the rings and the Band callback (FluidSynth's voices,
// the band's chorus and reverb) process periods of dense material inside a trapping RT section,
// which aborts the test on any malloc/free (see rt_alloc_trap.h). FluidSynth's own reverb and
// chorus stay off: Debian builds FluidSynth with OpenMP, and those run in a parallel region whose
// one-thread team libgomp allocates and frees on every render call (docs/realtime.md).
#include "tests/realtime/core/rt_alloc_trap.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "realtime/core/audio_ring.h"
#include "realtime/core/scheduler.h"
#include "realtime/core/spsc_ring.h"
#include "realtime/synth/band.h"
#include "realtime/synth/synth.h"

namespace jamd::realtime {
namespace {

constexpr int kTpq = 480;
constexpr uint32_t kPeriodFrames = 256;

class FixedMidiOut : public MidiOut {
 public:
  bool write(const MidiMessage& m) override {
    if (n_ == 512) return false;
    messages_[n_++] = m;
    return true;
  }
  void clear() { n_ = 0; }
  size_t size() const { return n_; }

 private:
  MidiMessage messages_[512];
  size_t n_ = 0;
};

// Eight parts of sixteenth notes (two beats long, so voices overlap), program and controller
// changes, a tempo change and an all-notes-off: everything the RT path handles.
void post_dense_material(Scheduler& sched, int n_beats) {
  for (int ch = 0; ch < 8; ++ch) sched.program_change(0, ch == 7 ? kGmDrumChannel : ch, ch * 8);
  for (int sixteenth = 0; sixteenth < n_beats * 4; ++sixteenth) {
    const int64_t tick = sixteenth * kTpq / 4;
    for (int ch = 0; ch < 8; ++ch) {
      const int channel = ch == 7 ? kGmDrumChannel : ch;
      const int key = ch == 7 ? 36 + sixteenth % 12 : 48 + (sixteenth * 7 + ch * 5) % 36;
      sched.note_on(tick + ch, channel, key, 90);
      sched.note_off(tick + 2 * kTpq, channel, key);
    }
    if (sixteenth % 8 == 0) sched.control_change(tick, 0, 7, 100 - sixteenth % 20);
  }
  sched.change_tempo_at_next_beat(kTpq, 132.0);
  sched.change_time_signature(4 * kTpq * 2, {3, 4});
}

ProcessBlock make_block(std::vector<float>& left, std::vector<float>& right, MidiOut* out) {
  ProcessBlock block;
  block.n_frames = kPeriodFrames;
  block.audio_out[0] = left;
  block.audio_out[1] = right;
  block.midi_out = out;
  return block;
}

TEST(RtAllocTrap, TrapCatchesAnAllocation) {
  EXPECT_DEATH(
      {
        RtSection rt(RtSection::Mode::kTrap);
        auto* p = new std::vector<int>(100);
        delete p;
      },
      "rt_alloc_trap: .* on the RT path");
}

TEST(RtAllocTrap, SchedulerAndRingsNeverAllocate) {
  Scheduler sched({.sample_rate_hz = 48000, .ticks_per_quarter = kTpq});
  AudioRing tap(1 << 14, 2);
  SpscRing<MidiMessage> midi_ring(256);
  post_dense_material(sched, 8);
  sched.all_notes_off();
  std::vector<float> left(kPeriodFrames, 0.25f), right(kPeriodFrames, -0.25f);
  const std::span<const float> channels[2] = {left, right};
  uint64_t n_events = 0;
  for (uint64_t first = 0; first < 48000 * 5; first += kPeriodFrames) {
    RtSection rt(RtSection::Mode::kTrap);
    sched.begin_period(first, kPeriodFrames);
    MidiMessage m;
    while (sched.next_event(m)) {
      midi_ring.try_push(m);
      ++n_events;
    }
    sched.end_period();
    tap.write_planar(channels, kPeriodFrames);
    MidiMessage drained;
    while (midi_ring.try_pop(drained)) {
    }
  }
  EXPECT_GT(n_events, 500u);
  EXPECT_GT(tap.overrun_frames(), 0u);  // the tap filled up and dropped, without allocating
}

struct BandRun {
  int max_voices = 0;
  uint64_t midi_out_written = 0;
  double sum_of_squares = 0;  // of the whole output: tells the runs with and without effects apart
};

// Ten seconds of dense material through Band::process(), each period inside a trapping RT
// section (the test dies on the first allocation or free).
BandRun run_band(bool effects) {
  SynthOptions synth_options;
  synth_options.reverb.enabled = effects;
  synth_options.chorus.enabled = effects;
  absl::StatusOr<std::unique_ptr<Synth>> synth = Synth::create(synth_options);
  EXPECT_TRUE(synth.ok()) << synth.status();
  if (!synth.ok()) return {};
  Scheduler sched({.sample_rate_hz = 48000, .ticks_per_quarter = kTpq});
  AudioRing tap(1 << 16, 2);
  Band band(sched, **synth, &tap);
  FixedMidiOut midi_out;
  std::vector<float> left(kPeriodFrames), right(kPeriodFrames);
  ProcessBlock block = make_block(left, right, &midi_out);
  post_dense_material(sched, 16);
  BandRun run;
  for (uint64_t first = 0; first < 48000 * 10; first += kPeriodFrames) {
    block.first_frame = first;
    midi_out.clear();
    {
      RtSection rt(RtSection::Mode::kTrap);
      band.process(block);
    }
    for (uint32_t i = 0; i < kPeriodFrames; ++i) {
      run.sum_of_squares += double{left[i]} * left[i] + double{right[i]} * right[i];
    }
    run.max_voices = std::max(run.max_voices, (*synth)->active_voices());
    if (first == 48000 * 6) sched.stop();
  }
  run.midi_out_written = band.counters().midi_out_written.load();
  EXPECT_EQ(band.counters().midi_out_dropped.load(), 0u);
  return run;
}

TEST(RtAllocTrap, BandPeriodWithReverbAndChorusNeverAllocates) {
  const BandRun with_effects = run_band(/*effects=*/true);
  const BandRun dry = run_band(/*effects=*/false);
  EXPECT_GT(with_effects.max_voices, 16);  // the material really was dense
  EXPECT_GT(with_effects.midi_out_written, 500u);
  EXPECT_NE(with_effects.sum_of_squares, dry.sum_of_squares);  // the effects really ran
}

}  // namespace
}  // namespace jamd::realtime
