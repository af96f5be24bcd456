// Offline render of a MIDI file through the scheduler and synth: notes sound at their expected
// frames (onsets found in the rendered audio), across a tempo change, whatever the period size,
// and the file has the expected length.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "realtime/core/song.h"
#include "realtime/midi/midi_file.h"
#include "realtime/synth/song_render.h"
#include "tests/realtime/synth/wav_analysis.h"

namespace jamd::realtime {
namespace {

constexpr int kTpq = 480;
constexpr int64_t kTempoChangeTick = 4 * kTpq;  // 120 BPM before (50 frames a tick), 60 after
constexpr int64_t kNoteTicks[] = {530, 1517, 2711, 3333};
constexpr int64_t kNoteLengthTicks = 24;

// Computed here by hand, independently of TempoMap.
int64_t expected_frame(int64_t tick) {
  return tick < kTempoChangeTick ? tick * 50
                                 : kTempoChangeTick * 50 + (tick - kTempoChangeTick) * 100;
}

MidiEvent channel_event(int64_t tick, uint8_t status, uint8_t d1, uint8_t d2) {
  return {.tick = static_cast<uint64_t>(tick), .status = status, .meta_type = 0, .data = {d1, d2}};
}

MidiEvent tempo_event(int64_t tick, uint32_t us_per_quarter) {
  return {
      .tick = static_cast<uint64_t>(tick),
      .status = 0xFF,
      .meta_type = kMetaTempo,
      .data = {static_cast<uint8_t>(us_per_quarter >> 16),
               static_cast<uint8_t>(us_per_quarter >> 8), static_cast<uint8_t>(us_per_quarter)}};
}

// Short wood-block hits (GM drums, channel 10) and staccato piano notes, well apart.
MidiFile test_song() {
  MidiFile file;
  file.format = 1;
  file.ticks_per_quarter = kTpq;
  MidiTrack conductor;
  conductor.events.push_back(tempo_event(0, 500'000));
  conductor.events.push_back(tempo_event(kTempoChangeTick, 1'000'000));
  MidiTrack notes;
  for (size_t i = 0; i < std::size(kNoteTicks); ++i) {
    const bool drum = i % 2 == 0;
    const uint8_t channel = drum ? 9 : 0;
    const uint8_t key = drum ? 76 : 72;
    notes.events.push_back(channel_event(kNoteTicks[i], 0x90 | channel, key, 120));
    notes.events.push_back(channel_event(kNoteTicks[i] + kNoteLengthTicks, 0x80 | channel, key, 0));
  }
  file.tracks = {conductor, notes};
  return file;
}

WavData render(const MidiFile& file, uint32_t period_frames, bool effects,
               const std::string& name) {
  absl::StatusOr<Song> song = song_from_midi(file);
  EXPECT_TRUE(song.ok()) << song.status();
  if (!song.ok()) return {};
  SongRenderOptions options;
  options.wav_path = ::testing::TempDir() + "jamd_" + std::to_string(::getpid()) + "_" + name;
  options.period_frames = period_frames;
  options.synth.reverb.enabled = effects;
  options.synth.chorus.enabled = effects;
  absl::StatusOr<SongRenderResult> r = render_song_to_wav(*song, options);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return {};
  EXPECT_EQ(r->events_late, 0u);
  EXPECT_EQ(r->events_dropped, 0u);
  WavData wav = read_wav(options.wav_path);
  std::remove(options.wav_path.c_str());
  return wav;
}

TEST(OfflineRender, NotesStartAtTheirScheduledFrames) {
  const WavData wav = render(test_song(), 256, /*effects=*/false, "onsets.wav");
  // -60 dBFS out of at least 0.1 s of silence.
  const std::vector<int64_t> onsets = onsets_after_silence(wav.mono, 1e-3f, 4800);
  ASSERT_EQ(onsets.size(), std::size(kNoteTicks));
  for (size_t i = 0; i < onsets.size(); ++i) {
    const int64_t want = expected_frame(kNoteTicks[i]);
    // Never early; late by at most FluidSynth's 64-frame block plus 1 ms of attack.
    EXPECT_GE(onsets[i], want) << "note " << i;
    EXPECT_LE(onsets[i], want + static_cast<int64_t>(kSynthBlockFrames) + 48) << "note " << i;
  }
}

TEST(OfflineRender, AudioDoesNotDependOnThePeriodSize) {
  // With the chorus and reverb on: their output does not depend on the split either.
  const WavData small = render(test_song(), 64, true, "period64.wav");
  const WavData odd = render(test_song(), 100, true, "period100.wav");
  const WavData large = render(test_song(), 1024, true, "period1024.wav");
  ASSERT_FALSE(small.mono.empty());
  EXPECT_EQ(small.mono, odd.mono);
  EXPECT_EQ(small.mono, large.mono);
}

TEST(OfflineRender, LengthIsTheSongPlusTheTail) {
  const WavData wav = render(test_song(), 256, true, "length.wav");
  EXPECT_EQ(wav.sample_rate_hz, 48000);
  EXPECT_EQ(wav.n_channels, 2);
  const int64_t last_tick = kNoteTicks[std::size(kNoteTicks) - 1] + kNoteLengthTicks;
  EXPECT_EQ(static_cast<int64_t>(wav.mono.size()),
            expected_frame(last_tick) + static_cast<int64_t>(kSongTailSeconds * 48000));
}

TEST(OfflineRender, OnsetsHoldWithReverbAndChorus) {
  const WavData wav = render(test_song(), 256, true, "effects.wav");
  const std::vector<int64_t> onsets = onsets_by_energy_rise(wav.mono, 30.0, 8);
  ASSERT_EQ(onsets.size(), std::size(kNoteTicks));
  for (size_t i = 0; i < onsets.size(); ++i) {
    // Hop resolution: the hop holding the onset starts at most 64 frames before it.
    EXPECT_GE(onsets[i], expected_frame(kNoteTicks[i]) - 64) << "note " << i;
    EXPECT_LE(onsets[i], expected_frame(kNoteTicks[i]) + 128) << "note " << i;
  }
}

}  // namespace
}  // namespace jamd::realtime
