// JamRecorder on a live jam (the real-time virtual clock, the bundled model, the real synth):
// a clean stop leaves the whole jam on disk; a recording child killed with SIGKILL leaves files
// that parse (libsndfile, realtime/midi) with content up to about a second before the kill; an
// unwritable directory is a clear error before anything plays.
#include "daemon/record/jam_recorder.h"

#include <gtest/gtest.h>
#include <sndfile.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "daemon/conductor/jam_timeline.h"
#include "realtime/midi/midi_file.h"

namespace jamd {
namespace {

constexpr double kTempoBpm = 240.0;  // a bar a second
constexpr int kGiveUpSeconds = 60;   // bounds a wait on a starved machine; never an assertion

JamState test_state() {
  JamState state;
  state.tempo_bpm = kTempoBpm;
  state.key_tonic = -1;
  state.density = 0.5f;
  state.mode = JamMode::kContinue;
  state.seed = 9;
  state.parts[kPartPad].enabled = false;
  state.parts[kPartLead].enabled = false;
  return state;
}

std::string fresh_dir(const char* name) {
  const std::string dir = ::testing::TempDir() + "jamd_record_" + name + "_" +
                          std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  return dir;
}

struct WavSummary {
  bool ok = false;
  int64_t frames = 0;
  int rate = 0;
  int channels = 0;
  float peak = 0.0f;
};

WavSummary read_wav(const std::string& path) {
  WavSummary w;
  SF_INFO info{};
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  if (f == nullptr) return w;
  w.ok = true;
  w.frames = info.frames;
  w.rate = info.samplerate;
  w.channels = info.channels;
  std::vector<float> buf(4096 * static_cast<size_t>(info.channels));
  sf_count_t got = 0;
  while ((got = sf_readf_float(f, buf.data(), 4096)) > 0) {
    for (sf_count_t i = 0; i < got * info.channels; ++i) {
      w.peak = std::max(w.peak, std::abs(buf[static_cast<size_t>(i)]));
    }
  }
  sf_close(f);
  return w;
}

// The latest note-on in a part track, in seconds at the test's tempo; -1 without notes.
double last_band_onset_s(const realtime::MidiFile& file) {
  uint64_t last = 0;
  bool any = false;
  for (size_t t = 2; t < file.tracks.size(); ++t) {
    for (const realtime::MidiEvent& e : file.tracks[t].events) {
      if ((e.status & 0xF0) == 0x90) {
        last = std::max(last, e.tick);
        any = true;
      }
    }
  }
  return any ? static_cast<double>(last) / kConductorTicksPerQuarter * 60.0 / kTempoBpm : -1.0;
}

void wait_for_frames(const JamHost& host, uint64_t frames) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(kGiveUpSeconds);
  while (host.stats().frames_played < frames && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

TEST(JamRecorderTest, CleanStopKeepsTheWholeJamAndBadDirectoryFailsFirst) {
  auto conductor = Conductor::create({.model_path = JAMD_SOURCE_DIR "/models/band.jamd"});
  ASSERT_TRUE(conductor.ok()) << conductor.status();
  (*conductor)->start();
  const JamState state = test_state();
  auto host = JamHost::start(1, state, **conductor, {});
  ASSERT_TRUE(host.ok()) << host.status();

  auto refused = JamRecorder::start(**host, state, {.directory = "/proc/jamd/cannot"});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_NE(refused.status().message().find("/proc/jamd/cannot"), std::string::npos);

  const std::string dir = fresh_dir("clean");
  auto recorder = JamRecorder::start(**host, state, {.directory = dir});
  ASSERT_TRUE(recorder.ok()) << recorder.status();
  const uint32_t rate = (*host)->sample_rate_hz();
  wait_for_frames(**host, 3 * rate);
  (*host)->stop();
  const uint64_t played = (*host)->stats().frames_played;
  (*recorder)->stop();
  ASSERT_TRUE((*recorder)->status().ok()) << (*recorder)->status();

  const WavSummary mix = read_wav((*recorder)->paths().mix);
  ASSERT_TRUE(mix.ok);
  EXPECT_EQ(mix.rate, static_cast<int>(rate));
  EXPECT_EQ(mix.channels, 2);
  EXPECT_EQ(static_cast<uint64_t>(mix.frames), played);  // every frame the band played
  EXPECT_GT(mix.peak, 0.01f);
  EXPECT_FALSE(std::filesystem::exists((*recorder)->paths().input));  // no inputs here

  auto midi = realtime::read_midi_file((*recorder)->paths().midi);
  ASSERT_TRUE(midi.ok()) << midi.status();
  ASSERT_EQ(midi->tracks.size(), 2u + kNumParts);  // tempo, musician, the parts
  EXPECT_GT(last_band_onset_s(*midi), 1.0);
  EXPECT_EQ((*recorder)->stats().notes, (*recorder)->stats().notes);
  std::filesystem::remove_all(dir);
}

// The child runs in a fresh process (this binary again, with the child's test selected), so that
// no thread of an earlier test is forked: it records a jam until it is killed, publishing its
// playhead through a file both processes map.
constexpr const char* kChildDirEnv = "JAMD_RECORD_CHILD_DIR";

std::atomic<uint64_t>* map_progress(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
  if (fd < 0 || ::ftruncate(fd, sizeof(uint64_t)) != 0) return nullptr;
  void* p = mmap(nullptr, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  return p == MAP_FAILED ? nullptr : static_cast<std::atomic<uint64_t>*>(p);
}

TEST(JamRecorderChild, RecordsUntilKilled) {
  const char* dir = std::getenv(kChildDirEnv);
  if (dir == nullptr) GTEST_SKIP() << "runs only as the kill test's child";
  std::atomic<uint64_t>* played = map_progress(std::string(dir) + ".progress");
  ASSERT_NE(played, nullptr);
  auto conductor = Conductor::create({.model_path = JAMD_SOURCE_DIR "/models/band.jamd"});
  ASSERT_TRUE(conductor.ok()) << conductor.status();
  (*conductor)->start();
  const JamState state = test_state();
  auto host = JamHost::start(1, state, **conductor, {});
  ASSERT_TRUE(host.ok()) << host.status();
  auto recorder = JamRecorder::start(**host, state, {.directory = dir});
  ASSERT_TRUE(recorder.ok()) << recorder.status();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(kGiveUpSeconds);
  while (std::chrono::steady_clock::now() < give_up) {  // killed long before
    played->store((*host)->stats().frames_played, std::memory_order_release);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

TEST(JamRecorderTest, KillNineLosesAtMostAboutTheLastSecond) {
  const std::string dir = fresh_dir("kill");
  std::filesystem::remove(dir + ".progress");
  std::atomic<uint64_t>* played = map_progress(dir + ".progress");
  ASSERT_NE(played, nullptr);
  ::setenv(kChildDirEnv, dir.c_str(), 1);
  const pid_t child = fork();
  if (child == 0) {
    ::execl("/proc/self/exe", "jam_recorder_test", "--gtest_filter=JamRecorderChild.*",
            static_cast<char*>(nullptr));
    _exit(127);
  }
  ::unsetenv(kChildDirEnv);
  ASSERT_GT(child, 0);

  constexpr uint32_t kRate = 48000;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(kGiveUpSeconds);
  while (played->load(std::memory_order_acquire) < 4 * kRate &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const uint64_t at_kill = played->load(std::memory_order_acquire);
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wstatus)) << "the child exited with " << WEXITSTATUS(wstatus);
  ASSERT_GE(at_kill, 4u * kRate) << "the jam never got going";
  munmap(played, sizeof(uint64_t));
  std::filesystem::remove(dir + ".progress");

  const WavSummary mix = read_wav(dir + "/mix.wav");
  ASSERT_TRUE(mix.ok) << "mix.wav does not parse after kill -9";
  const double lost_s = (static_cast<double>(at_kill) - static_cast<double>(mix.frames)) / kRate;
  std::printf("  [record] killed at %.2f s of jam: mix.wav holds %.2f s (%.2f s lost)\n",
              static_cast<double>(at_kill) / kRate, static_cast<double>(mix.frames) / kRate,
              lost_s);
  EXPECT_GT(mix.peak, 0.01f);
  // The commit interval (1 s), plus the tap's and the recorder's wake-ups.
  EXPECT_LE(lost_s, 1.5);

  auto midi = realtime::read_midi_file(dir + "/jam.mid");
  ASSERT_TRUE(midi.ok()) << midi.status();
  ASSERT_EQ(midi->tracks.size(), 2u + kNumParts);
  const double last_onset_s = last_band_onset_s(*midi);
  std::printf("  [record] jam.mid: last band note at %.2f s\n", last_onset_s);
  EXPECT_GE(last_onset_s, static_cast<double>(at_kill) / kRate - 2.0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace jamd
