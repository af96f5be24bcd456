// Synth and Band: SoundFont resolution errors, sound from notes on melodic and drum channels,
// and MIDI out at the scheduler's exact offsets.
#include "realtime/synth/synth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "realtime/core/scheduler.h"
#include "realtime/synth/band.h"

namespace jamd::realtime {
namespace {

// Below -100 dBFS: the effects' idle output (FluidSynth's reverb leaves values near 1e-8).
constexpr float kSilence = 1e-5f;

MidiMessage message(uint8_t status, uint8_t d1, uint8_t d2) {
  MidiMessage m;
  m.size = 3;
  m.bytes[0] = status;
  m.bytes[1] = d1;
  m.bytes[2] = d2;
  return m;
}

float peak_of_render(Synth& synth, uint32_t n_frames) {
  std::vector<float> left(n_frames), right(n_frames);
  synth.render(left.data(), right.data(), n_frames);
  float peak = 0;
  for (uint32_t i = 0; i < n_frames; ++i)
    peak = std::max({peak, std::fabs(left[i]), std::fabs(right[i])});
  return peak;
}

std::unique_ptr<Synth> make_synth() {
  absl::StatusOr<std::unique_ptr<Synth>> synth = Synth::create({});
  EXPECT_TRUE(synth.ok()) << synth.status();
  return synth.ok() ? std::move(*synth) : nullptr;
}

TEST(SoundFont, DefaultIsDebiansTimGM6mb) {
  absl::StatusOr<std::string> path = resolve_soundfont("default");
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(*path, kDefaultSoundFontPath);
}

TEST(SoundFont, MissingPathSaysWhatToPass) {
  absl::StatusOr<std::string> path = resolve_soundfont("/no/such/font.sf2");
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(path.status().message()).find("/no/such/font.sf2"), std::string::npos);
  EXPECT_NE(std::string(path.status().message()).find("default"), std::string::npos);
}

TEST(SoundFont, FileThatIsNotASoundFontIsRefused) {
  const std::string path =
      ::testing::TempDir() + "jamd_" + std::to_string(::getpid()) + "_not_a_font.sf2";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::fputs("this is not a RIFF file at all", f);
  std::fclose(f);
  absl::StatusOr<std::unique_ptr<Synth>> synth = Synth::create({.soundfont = path});
  ASSERT_FALSE(synth.ok());
  EXPECT_EQ(synth.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(synth.status().message()).find("not a SoundFont 2"), std::string::npos);
}

TEST(Synth, SilentWithoutNotesAndSoundsAfterNoteOn) {
  std::unique_ptr<Synth> synth = make_synth();
  ASSERT_NE(synth, nullptr);
  EXPECT_LT(peak_of_render(*synth, 4800), kSilence);
  synth->handle(message(0x90, 60, 110));
  EXPECT_GT(peak_of_render(*synth, 4800), 0.01f);
  EXPECT_EQ(synth->active_voices() > 0, true);
}

TEST(Synth, DrumChannelPlaysGmDrums) {
  std::unique_ptr<Synth> synth = make_synth();
  ASSERT_NE(synth, nullptr);
  synth->handle(message(0x90 | kGmDrumChannel, 38, 120));  // acoustic snare
  EXPECT_GT(peak_of_render(*synth, 4800), 0.01f);
}

TEST(Synth, ProgramChangeChangesTheSound) {
  std::unique_ptr<Synth> a = make_synth(), b = make_synth();
  ASSERT_TRUE(a && b);
  b->handle({.frame = 0, .size = 2, .bytes = {0xC0, 40, 0}});  // violin
  a->handle(message(0x90, 60, 100));
  b->handle(message(0x90, 60, 100));
  std::vector<float> la(4800), ra(4800), lb(4800), rb(4800);
  a->render(la.data(), ra.data(), 4800);
  b->render(lb.data(), rb.data(), 4800);
  EXPECT_NE(la, lb);
}

class RecordingMidiOut : public MidiOut {
 public:
  bool write(const MidiMessage& m) override {
    messages.push_back(m);
    return true;
  }
  std::vector<MidiMessage> messages;
};

TEST(Band, MidiOutCarriesEachEventAtItsExactOffset) {
  std::unique_ptr<Synth> synth = make_synth();
  ASSERT_NE(synth, nullptr);
  Scheduler sched({.sample_rate_hz = 48000, .ticks_per_quarter = 480});  // 50 frames a tick
  sched.note_on(3, 0, 60, 100);                                          // frame 150
  sched.note_off(5, 0, 60);                                              // frame 250
  sched.note_on(5, 9, 38, 100);  // frame 250, after the note off
  Band band(sched, *synth);
  RecordingMidiOut out;
  std::vector<float> left(256), right(256);
  ProcessBlock block;
  block.n_frames = 256;
  block.audio_out[0] = left;
  block.audio_out[1] = right;
  block.midi_out = &out;
  band.process(block);
  ASSERT_EQ(out.messages.size(), 3u);
  EXPECT_EQ(out.messages[0].frame, 150u);
  EXPECT_EQ(out.messages[1].frame, 250u);
  EXPECT_EQ(out.messages[1].bytes[0], 0x80);
  EXPECT_EQ(out.messages[2].frame, 250u);
  EXPECT_EQ(out.messages[2].bytes[0], 0x99);
  // Audio starts no earlier than the note: the synth was rendered up to frame 150 first.
  for (int i = 0; i < 150; ++i) ASSERT_LT(std::fabs(left[i]), kSilence) << i;
}

}  // namespace
}  // namespace jamd::realtime
