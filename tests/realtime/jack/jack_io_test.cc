// JackIo against a real `jackd -d dummy -r 48000 -p 64`: port names, sample-accurate MIDI and
// audio in both directions, the MIDI-in ring, counters, and the errors a user can meet.
#include "realtime/jack/jack_io.h"

#include <gtest/gtest.h>
#include <jack/jack.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "realtime/core/scheduler.h"
#include "realtime/synth/band.h"
#include "realtime/synth/synth.h"
#include "tests/realtime/jack/jack_server.h"

namespace jamd::realtime {
namespace {

using testing::JackServer;
using testing::Probe;
using testing::wait_until;

constexpr uint32_t kPeriodFrames = 64;
constexpr int kWaitMs = 10000;  // bounds a wait on the server; never a timing assertion

// A callback that plays silence, and on request one note plus one impulse at a given frame; it
// records what comes in on midi_in and in_1.
class ScriptedBand : public ProcessCallback {
 public:
  void process(const ProcessBlock& block) override {
    for (auto& out : block.audio_out) std::fill(out.begin(), out.end(), 0.0f);
    if (fire_armed_.load(std::memory_order_acquire) && fire_offset_ < block.n_frames) {
      block.midi_out->write(
          MidiMessage{.frame = fire_offset_, .size = 3, .bytes = {0x90, 60, 100}});
      block.audio_out[0][fire_offset_] = 1.0f;
      block.audio_out[1][fire_offset_] = 1.0f;
      fire_armed_.store(false, std::memory_order_release);
    }
    if (!midi_heard_.load(std::memory_order_relaxed) && !block.midi_in.empty()) {
      heard_ = block.midi_in.front();
      heard_absolute_frame_ = block.first_frame + heard_.frame;
      midi_heard_.store(true, std::memory_order_release);
    }
    if (!audio_heard_.load(std::memory_order_relaxed)) {
      for (uint32_t i = 0; i < block.n_frames; ++i) {
        if (block.audio_in[0][i] > 0.5f) {
          audio_heard_offset_ = i;
          audio_heard_.store(true, std::memory_order_release);
          break;
        }
      }
    }
    if (stall_once_ms_.load(std::memory_order_acquire) > 0) {
      // Deliberately breaks the RT rules once, to make the server report an xrun.
      std::this_thread::sleep_for(std::chrono::milliseconds(stall_once_ms_.exchange(0)));
    }
    if (block.first_frame != next_first_frame_) clock_breaks_.fetch_add(1);
    next_first_frame_ = block.first_frame + block.n_frames;
    if (block.n_frames > max_n_frames_.load(std::memory_order_relaxed)) {
      max_n_frames_.store(block.n_frames, std::memory_order_relaxed);
    }
    periods_.fetch_add(1, std::memory_order_release);
  }

  void fire_at(uint32_t offset) {
    fire_offset_ = offset;
    fire_armed_.store(true, std::memory_order_release);
  }
  bool fired() const { return !fire_armed_.load(std::memory_order_acquire); }
  void stall_once(int ms) { stall_once_ms_.store(ms, std::memory_order_release); }

  std::atomic<bool> midi_heard_{false};
  MidiMessage heard_;
  uint64_t heard_absolute_frame_ = 0;
  std::atomic<bool> audio_heard_{false};
  uint32_t audio_heard_offset_ = 0;
  std::atomic<uint64_t> periods_{0};
  std::atomic<uint32_t> max_n_frames_{0};
  std::atomic<uint64_t> clock_breaks_{0};  // blocks whose first_frame did not follow the last

 private:
  uint64_t next_first_frame_ = 0;
  std::atomic<bool> fire_armed_{false};
  uint32_t fire_offset_ = 0;
  std::atomic<int> stall_once_ms_{0};
};

class JackIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = JackServer::start(kPeriodFrames);
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(*server);
  }

  std::unique_ptr<JackIo> open_jamd(JackOptions options = {}) {
    options.server_name = server_->name();
    auto io = make_jack_io(options);
    EXPECT_TRUE(io.ok()) << io.status().message();
    return io.ok() ? std::move(*io) : nullptr;
  }

  // Waits until the probe has run a few more cycles, so new connections carry data.
  void let_cycles_pass(const Probe& probe, uint64_t n = 8) {
    const uint64_t target = probe.cycles() + n;
    ASSERT_TRUE(wait_until([&] { return probe.cycles() >= target; }, kWaitMs));
  }

  // jamd running `callback` (io_), an active probe (probe_) and one connection between them
  // that already carries data. The callback must outlive io_ (band_ does).
  void start_connected(ProcessCallback* callback, const char* from, const char* to) {
    io_ = open_jamd();
    ASSERT_NE(io_, nullptr);
    ASSERT_TRUE(io_->start(callback).ok());
    probe_ = std::make_unique<Probe>(server_->name());
    probe_->activate();
    ASSERT_EQ(probe_->connect(from, to), 0) << from << " -> " << to;
    let_cycles_pass(*probe_);
  }

  std::unique_ptr<JackServer> server_;  // declared first: destroyed after every client
  ScriptedBand band_;
  std::unique_ptr<JackIo> io_;  // of start_connected
  std::unique_ptr<Probe> probe_;
};

std::set<std::string> ports_of(jack_client_t* client, const std::string& prefix) {
  std::set<std::string> names;
  const char** ports = jack_get_ports(client, ("^" + prefix + ":").c_str(), nullptr, 0);
  for (size_t i = 0; ports != nullptr && ports[i] != nullptr; ++i) names.insert(ports[i]);
  jack_free(static_cast<void*>(ports));
  return names;
}

TEST_F(JackIoTest, PortsHaveTheExactNamesTypesAndDirections) {
  auto io = open_jamd();
  ASSERT_NE(io, nullptr);
  ASSERT_TRUE(io->start(&band_).ok());
  Probe probe(server_->name());
  EXPECT_EQ(ports_of(probe.client(), "jamd"),
            (std::set<std::string>{"jamd:in_1", "jamd:in_2", "jamd:out_L", "jamd:out_R",
                                   "jamd:midi_in", "jamd:midi_out"}));
  auto check = [&](const char* name, const char* type, int direction) {
    jack_port_t* port = jack_port_by_name(probe.client(), name);
    ASSERT_NE(port, nullptr) << name;
    EXPECT_STREQ(jack_port_type(port), type) << name;
    EXPECT_NE(jack_port_flags(port) & direction, 0) << name;
  };
  check("jamd:in_1", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput);
  check("jamd:in_2", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput);
  check("jamd:out_L", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput);
  check("jamd:out_R", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput);
  check("jamd:midi_in", JACK_DEFAULT_MIDI_TYPE, JackPortIsInput);
  check("jamd:midi_out", JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput);
  EXPECT_EQ(io->sample_rate_hz(), testing::kTestSampleRateHz);
  EXPECT_EQ(io->max_period_frames(), kPeriodFrames);
  io->stop();
}

TEST_F(JackIoTest, ClientNameOptionNamesThePorts) {
  JackOptions options;
  options.client_name = "band-2";
  auto io = open_jamd(options);
  ASSERT_NE(io, nullptr);
  Probe probe(server_->name());
  EXPECT_EQ(io->client_name(), "band-2");
  EXPECT_EQ(ports_of(probe.client(), "band-2").count("band-2:out_L"), 1u);
  EXPECT_TRUE(ports_of(probe.client(), "jamd").empty());
}

TEST_F(JackIoTest, AutoConnectJoinsTheSystemPorts) {
  JackOptions options;
  options.auto_connect = true;
  auto io = open_jamd(options);
  ASSERT_NE(io, nullptr);
  ASSERT_TRUE(io->start(&band_).ok());
  Probe probe(server_->name());
  auto connected = [&](const char* a, const char* b) {
    return jack_port_connected_to(jack_port_by_name(probe.client(), a), b) != 0;
  };
  EXPECT_TRUE(connected("jamd:in_1", "system:capture_1"));
  EXPECT_TRUE(connected("jamd:in_2", "system:capture_2"));
  EXPECT_TRUE(connected("jamd:out_L", "system:playback_1"));
  EXPECT_TRUE(connected("jamd:out_R", "system:playback_2"));
  io->stop();
}

TEST_F(JackIoTest, WithoutAutoConnectNothingIsConnected) {
  auto io = open_jamd();
  ASSERT_NE(io, nullptr);
  ASSERT_TRUE(io->start(&band_).ok());
  Probe probe(server_->name());
  EXPECT_EQ(jack_port_connected(jack_port_by_name(probe.client(), "jamd:out_L")), 0);
  io->stop();
}

TEST_F(JackIoTest, MidiOutAndAudioOutLeaveAtTheScheduledFrame) {
  ASSERT_NO_FATAL_FAILURE(start_connected(&band_, "jamd:midi_out", "probe:midi_in"));
  ASSERT_EQ(probe_->connect("jamd:out_L", "probe:in"), 0);
  let_cycles_pass(*probe_);

  constexpr uint32_t kOffset = 17;
  band_.fire_at(kOffset);
  uint64_t impulse_frame = 0;
  uint32_t impulse_offset = 0;
  ASSERT_TRUE(
      wait_until([&] { return probe_->impulse_seen(&impulse_frame, &impulse_offset); }, kWaitMs));
  let_cycles_pass(*probe_);  // later periods must not repeat the note: the buffer is cleared

  const auto seen = probe_->midi_seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].offset_frames, kOffset);
  EXPECT_EQ(seen[0].size, 3);
  EXPECT_EQ(seen[0].bytes[0], 0x90);
  EXPECT_EQ(seen[0].bytes[1], 60);
  EXPECT_EQ(seen[0].bytes[2], 100);
  EXPECT_EQ(impulse_offset, kOffset);
  EXPECT_EQ(impulse_frame, seen[0].jack_frame);  // same cycle, same sample
  EXPECT_EQ(io_->counters().midi_out_dropped.load(), 0u);
  io_->stop();
}

TEST_F(JackIoTest, ScheduledNotesOfTheBandLeaveAtTheirSampleFrames) {
  // 120 BPM, 480 ticks a quarter at 48 kHz: one tick is 50 frames. Tick 1000 is frame 50000,
  // offset 16 of its period; tick 1001 is frame 50050, offset 2 of the next-but-one period.
  SchedulerOptions scheduler_options;
  scheduler_options.sample_rate_hz = testing::kTestSampleRateHz;
  Scheduler scheduler(scheduler_options);
  auto synth = Synth::create({});
  ASSERT_TRUE(synth.ok()) << synth.status().message();
  Band band(scheduler, **synth);
  ASSERT_TRUE(scheduler.note_on(1000, 0, 60, 100));
  ASSERT_TRUE(scheduler.note_on(1001, 0, 64, 100));
  auto io = open_jamd();
  ASSERT_NE(io, nullptr);
  Probe probe(server_->name());
  probe.activate();
  ASSERT_TRUE(io->start(&band).ok());
  ASSERT_EQ(probe.connect("jamd:midi_out", "probe:midi_in"), 0);
  ASSERT_LT(scheduler.playhead_frame(), 40000u) << "connected too late to see the notes";
  ASSERT_TRUE(wait_until([&] { return probe.midi_seen().size() >= 2; }, kWaitMs));
  io->stop();

  const auto seen = probe.midi_seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].bytes[1], 60);
  EXPECT_EQ(seen[0].offset_frames, 50000u % kPeriodFrames);
  EXPECT_EQ(seen[1].bytes[1], 64);
  EXPECT_EQ(seen[1].offset_frames, 50050u % kPeriodFrames);
  EXPECT_EQ(seen[1].jack_frame - seen[0].jack_frame, 50u);
}

// Writes two notes in the wrong frame order once, when armed.
class OutOfOrderWriter : public ProcessCallback {
 public:
  void process(const ProcessBlock& block) override {
    for (auto& out : block.audio_out) std::fill(out.begin(), out.end(), 0.0f);
    if (armed_.exchange(false)) {
      block.midi_out->write(MidiMessage{.frame = 30, .size = 3, .bytes = {0x90, 60, 100}});
      block.midi_out->write(MidiMessage{.frame = 10, .size = 3, .bytes = {0x90, 62, 100}});
    }
  }
  std::atomic<bool> armed_{false};
};

TEST_F(JackIoTest, MidiOutWrittenOutOfOrderIsDelayedNotLost) {
  OutOfOrderWriter writer;  // outlives io, which calls it
  auto io = open_jamd();
  ASSERT_NE(io, nullptr);
  ASSERT_TRUE(io->start(&writer).ok());
  Probe probe(server_->name());
  probe.activate();
  ASSERT_EQ(probe.connect("jamd:midi_out", "probe:midi_in"), 0);
  let_cycles_pass(probe);
  writer.armed_ = true;
  ASSERT_TRUE(wait_until([&] { return probe.midi_seen().size() >= 2; }, kWaitMs));
  io->stop();
  const auto seen = probe.midi_seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].bytes[1], 60);
  EXPECT_EQ(seen[0].offset_frames, 30u);
  EXPECT_EQ(seen[1].bytes[1], 62);
  EXPECT_EQ(seen[1].offset_frames, 30u);  // JACK needs frame order: the late one waits
  EXPECT_EQ(io->counters().midi_out_dropped.load(), 0u);
}

TEST_F(JackIoTest, MidiInArrivesAtItsFrameInTheCallbackAndTheRing) {
  ASSERT_NO_FATAL_FAILURE(start_connected(&band_, "probe:midi_out", "jamd:midi_in"));

  constexpr uint32_t kOffset = 23;
  probe_->send_once(kOffset, {0x91, 64, 90});
  ASSERT_TRUE(wait_until([&] { return band_.midi_heard_.load(); }, kWaitMs));
  EXPECT_EQ(band_.heard_.frame, kOffset);
  EXPECT_EQ(band_.heard_.size, 3);
  EXPECT_EQ(band_.heard_.bytes[0], 0x91);
  EXPECT_EQ(band_.heard_.bytes[1], 64);
  EXPECT_EQ(band_.heard_.bytes[2], 90);

  TimedMidiMessage ring[8];
  size_t n = 0;
  ASSERT_TRUE(wait_until([&] { return (n = io_->pop_midi_in(ring)) > 0; }, kWaitMs));
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(ring[0].frame, band_.heard_absolute_frame_);
  EXPECT_EQ(ring[0].frame % kPeriodFrames, kOffset);
  EXPECT_EQ(ring[0].message.bytes[0], 0x91);
  io_->stop();
}

TEST_F(JackIoTest, AudioInArrivesAtItsFrame) {
  ASSERT_NO_FATAL_FAILURE(start_connected(&band_, "probe:out", "jamd:in_1"));

  constexpr uint32_t kOffset = 41;
  probe_->send_once(kOffset, {0x80, 0, 0});
  ASSERT_TRUE(wait_until([&] { return band_.audio_heard_.load(); }, kWaitMs));
  EXPECT_EQ(band_.audio_heard_offset_, kOffset);
  io_->stop();
}

TEST_F(JackIoTest, SysexInIsDroppedAndCounted) {
  ASSERT_NO_FATAL_FAILURE(start_connected(&band_, "probe:midi_out", "jamd:midi_in"));

  probe_->send_once(5, {0xF0, 0x7E, 0xF7});
  ASSERT_TRUE(wait_until([&] { return io_->counters().midi_in_dropped.load() == 1; }, kWaitMs));
  let_cycles_pass(*probe_);
  EXPECT_FALSE(band_.midi_heard_.load());
  TimedMidiMessage ring[4];
  EXPECT_EQ(io_->pop_midi_in(ring), 0u);
  io_->stop();
}

TEST_F(JackIoTest, ALargerJackPeriodIsSlicedToTheMaxPeriod) {
  auto io = open_jamd();
  ASSERT_NE(io, nullptr);
  ASSERT_TRUE(io->start(&band_).ok());
  Probe probe(server_->name());
  ASSERT_EQ(jack_set_buffer_size(probe.client(), 4 * kPeriodFrames), 0);
  ASSERT_TRUE(wait_until([&] { return io->period_frames() == 4 * kPeriodFrames; }, kWaitMs));
  const uint64_t periods = io->counters().periods.load();
  ASSERT_TRUE(wait_until([&] { return io->counters().periods.load() > periods + 8; }, kWaitMs));
  io->stop();
  EXPECT_EQ(io->max_period_frames(), kPeriodFrames);
  EXPECT_EQ(band_.max_n_frames_.load(), kPeriodFrames);  // the callback never saw more
  EXPECT_EQ(band_.clock_breaks_.load(), 0u);             // slices tile the sample clock
}

TEST_F(JackIoTest, TakenClientNameIsAClearError) {
  auto first = open_jamd();
  ASSERT_NE(first, nullptr);
  JackOptions options;
  options.server_name = server_->name();
  auto second = make_jack_io(options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
  const std::string message(second.status().message());
  EXPECT_NE(message.find("JACK client name 'jamd' is taken"), std::string::npos) << message;
  EXPECT_NE(message.find("--client-name"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST_F(JackIoTest, WithoutReconnectServerShutdownMarksTheClientDisconnected) {
  JackOptions options;
  options.reconnect = false;
  auto io = open_jamd(options);
  ASSERT_NE(io, nullptr);
  ASSERT_TRUE(io->start(&band_).ok());
  ASSERT_TRUE(wait_until([&] { return band_.periods_.load() > 8; }, kWaitMs));
  EXPECT_TRUE(io->connected());
  server_->kill_now();
  ASSERT_TRUE(wait_until([&] { return !io->connected(); }, kWaitMs));
  io->stop();  // must neither hang nor crash with the server gone
  EXPECT_FALSE(io->start(&band_).ok());
}

// The server goes away and comes back under the same name (as `jackd` killed or crashed and
// started again): the same JackIo carries on with the same callback, its sample clock continued,
// its connections restored, MIDI in on the continued clock.
void expect_survives_restart(std::unique_ptr<JackServer>& server, ScriptedBand& band, JackIo& io,
                             bool crash) {
  ASSERT_TRUE(io.start(&band).ok());
  {
    Probe probe(server->name());
    ASSERT_EQ(probe.connect("jamd:out_L", "system:playback_1"), 0);
  }
  ASSERT_TRUE(wait_until([&] { return band.periods_.load() > 8; }, kWaitMs));
  // The supervisor notes connections once per round and trusts a note a round later.
  std::this_thread::sleep_for(std::chrono::milliseconds(3 * JackOptions{}.reconnect_interval_ms));
  const std::string name = server->name();
  crash ? server->crash_now() : server->kill_now();
  ASSERT_TRUE(wait_until([&] { return io.counters().server_losses.load() == 1; }, kWaitMs));
  EXPECT_TRUE(io.connected());
  EXPECT_EQ(io.counters().reconnects.load(), 0u);
  const uint64_t periods_before = band.periods_.load();

  auto restarted = JackServer::start_named(kPeriodFrames, name);
  ASSERT_TRUE(restarted.ok()) << restarted.status().message();
  server = std::move(*restarted);
  const auto back = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until([&] { return io.counters().reconnects.load() == 1; }, kWaitMs));
  ASSERT_TRUE(wait_until([&] { return band.periods_.load() > periods_before + 8; }, kWaitMs));
  std::printf("[ reconnect ] %s: callbacks again %lld ms after the server accepted clients\n",
              crash ? "SIGKILL" : "SIGTERM",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - back)
                                         .count()));
  EXPECT_EQ(band.clock_breaks_.load(), 0u);  // first_frame went on from where it stopped

  Probe probe(server->name());
  ASSERT_TRUE(wait_until(
      [&] {
        return jack_port_connected_to(jack_port_by_name(probe.client(), "jamd:out_L"),
                                      "system:playback_1") != 0;
      },
      kWaitMs));
  probe.activate();
  ASSERT_EQ(probe.connect("probe:midi_out", "jamd:midi_in"), 0);
  const uint64_t cycles = probe.cycles() + 8;
  ASSERT_TRUE(wait_until([&] { return probe.cycles() >= cycles; }, kWaitMs));
  probe.send_once(3, {0x90, 67, 80});
  TimedMidiMessage ring[8];
  size_t n = 0;
  ASSERT_TRUE(wait_until([&] { return (n = io.pop_midi_in(ring)) > 0; }, kWaitMs));
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(ring[0].message.bytes[1], 67);
  ASSERT_TRUE(wait_until([&] { return band.midi_heard_.load(); }, kWaitMs));
  EXPECT_EQ(ring[0].frame, band.heard_absolute_frame_);  // the callback's clock, continued
  io.stop();
}

TEST_F(JackIoTest, AServerStoppedAndStartedAgainIsRejoined) {
  auto io = open_jamd();
  ASSERT_NE(io, nullptr);
  expect_survives_restart(server_, band_, *io, /*crash=*/false);
}

TEST_F(JackIoTest, ACrashedServerStartedAgainIsRejoined) {
  auto io = open_jamd();
  ASSERT_NE(io, nullptr);
  expect_survives_restart(server_, band_, *io, /*crash=*/true);
}

TEST_F(JackIoTest, XrunsAreCounted) {
  auto io = open_jamd();
  ASSERT_NE(io, nullptr);
  ASSERT_TRUE(io->start(&band_).ok());
  ASSERT_TRUE(wait_until([&] { return band_.periods_.load() > 8; }, kWaitMs));
  band_.stall_once(50);  // 50 ms: dozens of 1.3 ms periods
  ASSERT_TRUE(wait_until([&] { return io->counters().xruns.load() > 0; }, kWaitMs));
  EXPECT_GT(io->counters().periods.load(), 8u);
  io->stop();
}

TEST(JackIoNoServerTest, MissingServerIsAClearError) {
  const std::string name = testing::unique_server_name("absent");
  JackOptions options;
  options.server_name = name;
  auto io = make_jack_io(options);
  ASSERT_FALSE(io.ok());
  EXPECT_EQ(io.status().code(), absl::StatusCode::kUnavailable);
  const std::string message(io.status().message());
  EXPECT_NE(message.find("no JACK server running (named '" + name + "')"), std::string::npos)
      << message;
  EXPECT_NE(message.find("jackd -n " + name + " -d dummy"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST(JackIoNoServerTest, BadClientNameIsAClearError) {
  JackOptions options;
  options.client_name = "a:b";
  auto io = make_jack_io(options);
  ASSERT_FALSE(io.ok());
  EXPECT_EQ(io.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(io.status().message()).find("--client-name"), std::string::npos);
}

}  // namespace
}  // namespace jamd::realtime
