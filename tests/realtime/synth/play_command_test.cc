// `jamd play` run as a user runs it: the demo renders to a WAV of the right length and the
// speed is printed; bad input (missing or corrupt MIDI file, missing SoundFont, unwritable
// output, no JACK server) gets one line on stderr and a non-zero exit, never a crash or a hang.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "realtime/core/song.h"
#include "realtime/midi/midi_file.h"
#include "realtime/synth/song_render.h"
#include "tests/realtime/synth/wav_analysis.h"

namespace jamd::realtime {
namespace {

struct CommandRun {
  int exit_status = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Runs `jamd play ARGS` with a time limit, so that a hang fails instead of blocking the suite.
CommandRun play(const std::string& args) {
  // CTest runs each test as its own process, in parallel: the names must not collide.
  const std::string stem = ::testing::TempDir() + "jamd_play_" + std::to_string(::getpid());
  const std::string command =
      "timeout 60 " JAMD_BINARY " play " + args + " >" + stem + ".out 2>" + stem + ".err";
  const int status = std::system(command.c_str());
  CommandRun run;
  run.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.out = slurp(stem + ".out");
  run.err = slurp(stem + ".err");
  std::remove((stem + ".out").c_str());
  std::remove((stem + ".err").c_str());
  return run;
}

// A file name in the temp folder that no other test process (or a teammate's run) shares.
std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "jamd_" + std::to_string(::getpid()) + "_" + name;
}

int count_lines(const std::string& text) {
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

void expect_one_line_error(const CommandRun& run, const std::string& mentions) {
  EXPECT_EQ(run.exit_status, 1) << run.err;
  EXPECT_EQ(count_lines(run.err), 1) << run.err;
  EXPECT_EQ(run.err.rfind("jamd play: ", 0), 0u) << run.err;
  EXPECT_NE(run.err.find(mentions), std::string::npos) << run.err;
}

TEST(PlayCommand, RendersTheDemoToAWavOfTheSongsLengthAndPrintsTheSpeed) {
  const std::string wav_path = temp_path("demo.wav");
  const CommandRun run = play("--out " + wav_path);
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_NE(run.out.find("x real time"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find(wav_path), std::string::npos) << run.out;
  EXPECT_NE(run.out.find(" 0 late"), std::string::npos) << run.out;

  absl::StatusOr<MidiFile> demo = read_midi_file(JAMD_SOURCE_DIR "/daemon/data/demo.mid");
  ASSERT_TRUE(demo.ok()) << demo.status();
  absl::StatusOr<Song> song = song_from_midi(*demo);
  ASSERT_TRUE(song.ok()) << song.status();
  const WavData wav = read_wav(wav_path);
  std::remove(wav_path.c_str());
  EXPECT_EQ(wav.sample_rate_hz, 48000);
  EXPECT_EQ(static_cast<int64_t>(wav.mono.size()),
            song->tempo_map(48000).frame_at(song->end_tick) +
                static_cast<int64_t>(kSongTailSeconds * 48000));
  // The band plays from the first bar on: sound within its first beat.
  const std::vector<int64_t> onsets = onsets_after_silence(wav.mono, 1e-3f, 1);
  ASSERT_FALSE(onsets.empty());
  EXPECT_LT(onsets[0], 48000);
}

TEST(PlayCommand, MissingMidiFile) {
  expect_one_line_error(play("/no/such/song.mid --out " + temp_path("x.wav")), "/no/such/song.mid");
}

TEST(PlayCommand, CorruptMidiFile) {
  const std::string path = temp_path("corrupt.mid");
  std::ofstream(path) << "MThd but then nothing that makes sense";
  expect_one_line_error(play(path + " --out " + temp_path("x.wav")), path);
}

TEST(PlayCommand, MissingSoundFont) {
  expect_one_line_error(play("--soundfont /no/such/font.sf2 --out " + temp_path("x.wav")),
                        "/no/such/font.sf2");
}

TEST(PlayCommand, UnwritableOutputPath) {
  expect_one_line_error(play("--out /no/such/folder/x.wav"), "/no/such/folder/x.wav");
}

TEST(PlayCommand, NoJackServer) {
  expect_one_line_error(play("--jack --server-name jamd_test_no_such_server"), "JACK");
}

TEST(PlayCommand, NeitherOutNorJackIsAUsageError) {
  const CommandRun run = play("");
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_NE(run.err.find("--out"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace jamd::realtime
