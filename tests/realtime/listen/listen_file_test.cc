// `jamd listen`'s engine on files: WAV formats, MIDI files in 3/4 and 6/8, the JSON report, and
// bad input (not audio, truncated WAV, empty file, missing file).
#include "realtime/listen/listen_file.h"

#include <gtest/gtest.h>
#include <sndfile.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/realtime/listen/takes.h"

namespace jamd::realtime {
namespace {

using testing::make_take;
using testing::Style;
using testing::Take;

class ListenFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("jamd_listen_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string write_wav(const std::string& name, const Take& take, int format) const {
    SF_INFO info{};
    info.samplerate = static_cast<int>(take.sample_rate_hz);
    info.channels = take.channels;
    info.format = SF_FORMAT_WAV | format;
    SNDFILE* f = sf_open(path(name).c_str(), SFM_WRITE, &info);
    EXPECT_NE(f, nullptr);
    sf_writef_float(f, take.audio.data(),
                    static_cast<sf_count_t>(take.audio.size() / take.channels));
    sf_close(f);
    return path(name);
  }
  std::filesystem::path dir_;
};

int count(const ListenResult& r, HeardKind kind) {
  int n = 0;
  for (const HeardEvent& e : r.events) n += e.kind == kind;
  return n;
}

// The take written as WAV files, rendered once for the cases that need one.
const Take& six_bars_at_48k() {
  return testing::shared_take(
      {.style = Style::kBlock, .tempo_bpm = 110, .bars = 6, .sample_rate_hz = 48000, .seed = 1});
}

TEST_F(ListenFile, ReadsPcm16Pcm24AndFloatWavs) {
  const Take& take = six_bars_at_48k();
  for (int format : {SF_FORMAT_PCM_16, SF_FORMAT_PCM_24, SF_FORMAT_FLOAT}) {
    absl::StatusOr<ListenResult> r = listen_file(write_wav("take.wav", take, format), {});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->kind, "audio");
    EXPECT_EQ(r->sample_rate_hz, 48000u);
    EXPECT_GE(count(*r, HeardKind::kBeat), 12) << format;
    EXPECT_TRUE(r->warnings.empty());
  }
}

TEST_F(ListenFile, JsonHasBeatsChordsNotesAndKey) {
  const Take take = make_take({.style = Style::kBlock, .tempo_bpm = 120, .bars = 6, .seed = 1},
                              /*render=*/false);
  ASSERT_TRUE(write_midi_file(path("take.mid"), take.midi).ok());
  absl::StatusOr<ListenResult> r = listen_file(path("take.mid"), {});
  ASSERT_TRUE(r.ok()) << r.status();
  const std::string json = listen_result_json(*r);
  for (const char* field : {"\"beats\": [", "\"tempo_bpm\"", "\"chords\": [", "\"chord\": \"",
                            "\"notes\": [", "\"key\": {", "\"latency_ms\"", "\"kind\": \"midi\""}) {
    EXPECT_NE(json.find(field), std::string::npos) << field << "\n" << json.substr(0, 400);
  }
}

TEST_F(ListenFile, MidiIn3_4And6_8GivesBeatsAndTheMeter) {
  for (int beats_per_bar : {3, 6}) {
    Take take = make_take({.style = Style::kBlock,
                           .tempo_bpm = beats_per_bar == 3 ? 100.0 : 150.0,
                           .bars = 10,
                           .beats_per_bar = beats_per_bar,
                           .chord_beats = beats_per_bar,
                           .seed = 2},
                          /*render=*/false);
    if (beats_per_bar == 6) take.midi.tracks[0].events[0].data[1] = 3;  // 6/8: eighth notes
    ASSERT_TRUE(write_midi_file(path("meter.mid"), take.midi).ok());
    absl::StatusOr<ListenResult> r = listen_file(path("meter.mid"), {});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->time_signature, beats_per_bar == 3 ? "3/4" : "6/8");
    EXPECT_GE(testing::beat_f_measure(testing::heard_beats_s(*r), take.beats_s, 0.07,
                                      take.beats_s[4] - 0.01),
              0.9)
        << beats_per_bar;
    EXPECT_GE(count(*r, HeardKind::kChord), 20);
  }
}

TEST_F(ListenFile, SilentWavIsAResultNotAnError) {
  Take take = make_take({.style = Style::kBlock, .tempo_bpm = 120, .bars = 4, .seed = 1},
                        /*render=*/false);
  take.audio.assign(static_cast<size_t>(take.sample_rate_hz) * 6 * 2, 0.0f);  // 6 s of stereo
  absl::StatusOr<ListenResult> r =
      listen_file(write_wav("silence.wav", take, SF_FORMAT_PCM_16), {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(count(*r, HeardKind::kBeat), 0);
  EXPECT_EQ(count(*r, HeardKind::kChord), 0);
  EXPECT_EQ(count(*r, HeardKind::kNoteOn), 0);
  EXPECT_EQ(count(*r, HeardKind::kKey), 0) << "no key invented from silence";
  EXPECT_TRUE(r->warnings.empty());
}

TEST_F(ListenFile, NotAudioIsAClearError) {
  std::ofstream(path("notes.txt")) << "this is not a recording\n";
  absl::StatusOr<ListenResult> r = listen_file(path("notes.txt"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("is not audio"), absl::string_view::npos) << r.status();
  EXPECT_NE(r.status().message().find("WAV"), absl::string_view::npos);
}

TEST_F(ListenFile, MissingAndEmptyFilesAreClearErrors) {
  EXPECT_EQ(listen_file(path("nothing.wav"), {}).status().code(), absl::StatusCode::kNotFound);
  std::ofstream(path("empty.wav")).flush();
  absl::StatusOr<ListenResult> r = listen_file(path("empty.wav"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("empty.wav"), absl::string_view::npos);
}

TEST_F(ListenFile, TruncatedWavIsAnalysedWithAWarning) {
  const std::string wav = write_wav("take.wav", six_bars_at_48k(), SF_FORMAT_PCM_16);
  std::filesystem::resize_file(wav, std::filesystem::file_size(wav) / 2);
  absl::StatusOr<ListenResult> r = listen_file(wav, {});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("truncated"), std::string::npos) << r->warnings[0];
  EXPECT_GE(count(*r, HeardKind::kBeat), 4);
}

TEST_F(ListenFile, BrokenMidiIsAClearError) {
  std::ofstream(path("bad.mid"), std::ios::binary) << "MThd\x00\x00\x00\x06garbage";
  absl::StatusOr<ListenResult> r = listen_file(path("bad.mid"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bad.mid"), absl::string_view::npos) << r.status();
}

}  // namespace
}  // namespace jamd::realtime
