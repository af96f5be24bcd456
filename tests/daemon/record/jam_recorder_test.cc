// JamRecorder on a live jam (the bundled model, the real synth): a clean stop on the real-time
// virtual clock leaves the whole jam on disk; a recording child on a real `jackd -d dummy`, with
// a musician playing MIDI and audio into its ports, killed with SIGKILL, leaves mix.wav,
// input.wav and jam.mid that parse (libsndfile, realtime/midi) with content up to about a second
// before the kill; an unwritable directory is a clear error before anything plays.
#include "daemon/record/jam_recorder.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sndfile.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
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
#include "tests/daemon/jam_fixture.h"
#include "tests/realtime/jack/jack_server.h"

namespace jamd {
namespace {

using testing::band_alone_state;
using testing::kFastTempoBpm;
using testing::kGiveUpSeconds;
using testing::start_conductor;
using testing::wait_for_frames;

std::string fresh_dir(const char* name) {
  const std::string dir =
      ::testing::TempDir() + "jamd_record_" + name + "_" + std::to_string(::getpid());
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

// The latest note-on in tracks [first, last), in seconds at the test's tempo; -1 without notes.
double last_onset_s(const realtime::MidiFile& file, size_t first, size_t last) {
  uint64_t latest = 0;
  bool any = false;
  for (size_t t = first; t < std::min(last, file.tracks.size()); ++t) {
    for (const realtime::MidiEvent& e : file.tracks[t].events) {
      if ((e.status & 0xF0) == 0x90) {
        latest = std::max(latest, e.tick);
        any = true;
      }
    }
  }
  return any ? static_cast<double>(latest) / kConductorTicksPerQuarter * 60.0 / kFastTempoBpm
             : -1.0;
}
constexpr size_t kMusicianTrack = 1;  // midi_take.h: tempo, musician, then the parts
double last_band_onset_s(const realtime::MidiFile& file) {
  return last_onset_s(file, kMusicianTrack + 1, file.tracks.size());
}

TEST(JamRecorderTest, CleanStopKeepsTheWholeJamAndBadDirectoryFailsFirst) {
  std::unique_ptr<Conductor> conductor = start_conductor();
  ASSERT_NE(conductor, nullptr);
  const JamState state = band_alone_state(/*seed=*/9);
  auto host = JamHost::start(1, state, *conductor, {});
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
// no thread of an earlier test is forked: it records a jam on the parent's JACK server until it
// is killed, publishing its playhead through a file both processes map.
constexpr const char* kChildDirEnv = "JAMD_RECORD_CHILD_DIR";
constexpr const char* kChildServerEnv = "JAMD_RECORD_CHILD_SERVER";
constexpr const char* kChildClient = "jamd_rec";

std::atomic<uint64_t>* map_progress(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
  if (fd < 0 || ::ftruncate(fd, sizeof(uint64_t)) != 0) return nullptr;
  void* p = mmap(nullptr, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  return p == MAP_FAILED ? nullptr : static_cast<std::atomic<uint64_t>*>(p);
}

TEST(JamRecorderChild, RecordsUntilKilled) {
  const char* dir = std::getenv(kChildDirEnv);
  const char* server = std::getenv(kChildServerEnv);
  if (dir == nullptr || server == nullptr) GTEST_SKIP() << "runs only as the kill test's child";
  std::atomic<uint64_t>* played = map_progress(std::string(dir) + ".progress");
  ASSERT_NE(played, nullptr);
  std::unique_ptr<Conductor> conductor = start_conductor();
  ASSERT_NE(conductor, nullptr);
  const JamState state = band_alone_state(/*seed=*/9);
  JamHostOptions options;
  options.clock = JamHostOptions::Clock::kJack;
  options.jack_server_name = server;
  options.jack_client_name = kChildClient;
  auto host = JamHost::start(1, state, *conductor, options);
  ASSERT_TRUE(host.ok()) << host.status();
  auto recorder = JamRecorder::start(**host, state, {.directory = dir});
  ASSERT_TRUE(recorder.ok()) << recorder.status();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(kGiveUpSeconds);
  while (std::chrono::steady_clock::now() < give_up) {  // killed long before
    played->store((*host)->stats().frames_played, std::memory_order_release);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

TEST(JamRecorderTest, KillNineLosesAtMostAboutTheLastSecondOfEveryFile) {
  using realtime::testing::JackServer;
  using realtime::testing::Probe;
  auto server = JackServer::start(256);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string dir = fresh_dir("kill");
  std::filesystem::remove(dir + ".progress");
  std::atomic<uint64_t>* played = map_progress(dir + ".progress");
  ASSERT_NE(played, nullptr);
  ::setenv(kChildDirEnv, dir.c_str(), 1);
  ::setenv(kChildServerEnv, (*server)->name().c_str(), 1);
  const pid_t child = fork();
  if (child == 0) {
    ::execl("/proc/self/exe", "jam_recorder_test", "--gtest_filter=JamRecorderChild.*",
            static_cast<char*>(nullptr));
    _exit(127);
  }
  ::unsetenv(kChildDirEnv);
  ::unsetenv(kChildServerEnv);
  ASSERT_GT(child, 0);

  // The musician: notes into midi_in, an impulse into in_1 with each.
  Probe probe((*server)->name());
  probe.activate();
  const std::string jamd = kChildClient;
  const int wait_ms = kGiveUpSeconds * 1000;
  // Connecting to a client not yet active makes jackd drop it: wait until the child's clock runs.
  ASSERT_TRUE(realtime::testing::wait_until(
      [&] { return played->load(std::memory_order_acquire) > 0; }, wait_ms))
      << "the child's jam never started";
  ASSERT_EQ(probe.connect("probe:midi_out", jamd + ":midi_in"), 0);
  ASSERT_EQ(probe.connect("probe:out", jamd + ":in_1"), 0);
  constexpr uint32_t kRate = realtime::testing::kTestSampleRateHz;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(kGiveUpSeconds);
  int sent = 0;
  while (played->load(std::memory_order_acquire) < 4 * kRate &&
         std::chrono::steady_clock::now() < give_up) {
    // A note every 0.5 s of the jam, released 0.25 s later (the jam's clock starts after a
    // lead-in: only what is played after it is heard).
    const uint64_t now = played->load(std::memory_order_acquire);
    if (now > 0 && static_cast<int>(now / (kRate / 4)) > sent) {
      sent = static_cast<int>(now / (kRate / 4));
      probe.send_once(0, sent % 2 == 1 ? std::array<uint8_t, 3>{0x90, 60, 100}
                                       : std::array<uint8_t, 3>{0x80, 60, 0});
    }
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
  const double killed_s = static_cast<double>(at_kill) / kRate;

  for (const char* name : {"mix.wav", "input.wav"}) {
    const WavSummary wav = read_wav(dir + "/" + name);
    ASSERT_TRUE(wav.ok) << name << " does not parse after kill -9";
    const double lost_s = killed_s - static_cast<double>(wav.frames) / kRate;
    std::printf("  [record] killed at %.2f s of jam: %s holds %.2f s (%.2f s lost), peak %.3f\n",
                killed_s, name, static_cast<double>(wav.frames) / kRate, lost_s, wav.peak);
    EXPECT_EQ(wav.rate, static_cast<int>(kRate)) << name;
    EXPECT_EQ(wav.channels, 2) << name;
    // The commit interval (1 s), plus the tap's, listener's and recorder's wake-ups.
    EXPECT_LE(lost_s, 1.5) << name;
    EXPECT_GT(wav.peak, 0.01f) << name << ": the band, or the musician's impulses";
  }

  auto midi = realtime::read_midi_file(dir + "/jam.mid");
  ASSERT_TRUE(midi.ok()) << midi.status();
  ASSERT_EQ(midi->tracks.size(), 2u + kNumParts);
  const double band_s = last_band_onset_s(*midi);
  const double musician_s = last_onset_s(*midi, kMusicianTrack, kMusicianTrack + 1);
  std::printf(
      "  [record] jam.mid: last band note at %.2f s, last musician note at %.2f s "
      "(%d sent)\n",
      band_s, musician_s, sent / 2);
  EXPECT_GE(band_s, killed_s - 2.0);
  // A heard note is written once its note-off is heard: the last one may be still held.
  EXPECT_GE(musician_s, killed_s - 2.0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace jamd
