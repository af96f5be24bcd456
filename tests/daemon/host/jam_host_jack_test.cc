// JamHost on a real `jackd -d dummy`: the jamd ports exist under the client's name, notes played
// into jamd:midi_in by another JACK client come back as heard notes on the notes tap and sound
// in the mix through the monitor (the frames it adds are printed), and the errors a musician
// meets (no server, the client name taken) are clear FAILED_PRECONDITIONs.
#include <gtest/gtest.h>
#include <jack/jack.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "daemon/host/jam_host.h"
#include "tests/realtime/jack/jack_server.h"

namespace jamd {
namespace {

using realtime::testing::JackServer;
using realtime::testing::Probe;
using realtime::testing::wait_until;

constexpr int kWaitMs = 20000;  // bounds a wait on the server; never a timing assertion

JamState quiet_band() {
  JamState state;
  state.tempo_bpm = 120.0;
  state.mode = JamMode::kAccompany;
  state.seed = 5;
  for (PartState& part : state.parts) part.enabled = false;  // the band rests: only ears here
  state.parts[kPartBass].enabled = true;
  return state;
}

// Every test has the bundled model's conductor; those that play start a dummy server and run
// the conductor (start_server), and their jams are hosted on that server (start_host).
class JamHostJackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto conductor = Conductor::create({.model_path = JAMD_SOURCE_DIR "/models/band.jamd"});
    ASSERT_TRUE(conductor.ok()) << conductor.status();
    conductor_ = std::move(*conductor);
    options_.clock = JamHostOptions::Clock::kJack;
  }

  void start_server() {
    auto server = JackServer::start(256);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    options_.jack_server_name = server_->name();
    conductor_->start();
  }

  absl::StatusOr<std::unique_ptr<JamHost>> start_host(JamId id, const JamState& state) {
    return JamHost::start(id, state, *conductor_, options_);
  }

  // The notes played into jamd:midi_in as the tap hands them back, waiting for the first.
  static std::vector<TappedNote> wait_for_heard_notes(TapQueue<TappedNote>& notes) {
    std::vector<TappedNote> heard;
    wait_until(
        [&] {
          while (auto n = notes.pop()) {
            if (n->source == TappedNote::Source::kHeard) heard.push_back(*n);
          }
          return !heard.empty();
        },
        kWaitMs);
    return heard;
  }

  // Declared first, destroyed last: the conductor and the jams leave the server before it stops.
  std::unique_ptr<JackServer> server_;
  std::unique_ptr<Conductor> conductor_;
  JamHostOptions options_;
};

TEST_F(JamHostJackTest, PortsAndHeardNotes) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  auto host = start_host(1, quiet_band());
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_EQ((*host)->sample_rate_hz(), realtime::testing::kTestSampleRateHz);
  auto notes = (*host)->subscribe_notes(4096, nullptr);

  Probe probe(server_->name());
  probe.activate();
  for (const char* port : {"in_1", "in_2", "out_L", "out_R", "midi_in", "midi_out"}) {
    EXPECT_NE(jack_port_by_name(probe.client(), (std::string("jamd:") + port).c_str()), nullptr)
        << port;
  }
  ASSERT_EQ(probe.connect("probe:midi_out", "jamd:midi_in"), 0);
  // The jam's clock starts after the lead-in; what is played before it is not heard.
  ASSERT_TRUE(wait_until([&] { return (*host)->stats().frames_played > 4800; }, kWaitMs));
  probe.send_once(10, {0x90, 64, 100});
  const uint64_t on_at = (*host)->stats().frames_played;
  ASSERT_TRUE(wait_until([&] { return (*host)->stats().frames_played > on_at + 12000; }, kWaitMs));
  probe.send_once(10, {0x80, 64, 0});

  const std::vector<TappedNote> heard = wait_for_heard_notes(*notes);
  ASSERT_FALSE(heard.empty()) << "no heard note came back";
  EXPECT_EQ(heard[0].pitch, 64);
  EXPECT_EQ(heard[0].velocity, 100);
  EXPECT_EQ(heard[0].part, -1);
  EXPECT_GT(heard[0].duration_frames, 0u);

  // A second jam under the same client name is refused with the name in the message.
  auto twin = start_host(2, quiet_band());
  ASSERT_FALSE(twin.ok());
  EXPECT_EQ(twin.status().code(), absl::StatusCode::kFailedPrecondition) << twin.status();
  EXPECT_NE(twin.status().message().find("jamd"), std::string::npos) << twin.status();
  (*host)->stop();
}

TEST_F(JamHostJackTest, MonitorPlaysMidiInIntoTheMix) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  JamState state = quiet_band();
  for (PartState& part : state.parts) part.muted = true;  // only the musician sounds
  auto host = start_host(1, state);
  ASSERT_TRUE(host.ok()) << host.status();
  auto notes = (*host)->subscribe_notes(4096, nullptr);
  auto mix = (*host)->subscribe_mix(100000, nullptr);
  Probe probe(server_->name());
  probe.activate();
  ASSERT_EQ(probe.connect("probe:midi_out", "jamd:midi_in"), 0);
  ASSERT_TRUE(wait_until([&] { return (*host)->stats().frames_played > 9600; }, kWaitMs));
  probe.send_once(77, {0x90, 60, 110});
  const uint64_t on_at = (*host)->stats().frames_played;
  ASSERT_TRUE(wait_until([&] { return (*host)->stats().frames_played > on_at + 9600; }, kWaitMs));
  probe.send_once(0, {0x80, 60, 0});
  const std::vector<TappedNote> heard = wait_for_heard_notes(*notes);
  ASSERT_FALSE(heard.empty()) << "no heard note came back";
  (*host)->stop();

  // The heard note's onset is the frame the musician played it at on the jam's clock (the
  // period it came in + its offset); the mix's first sound after it is the monitor's.
  const uint64_t onset = heard[0].onset_frame;
  float before = 0.0f;
  uint64_t first_loud = UINT64_MAX;
  float during = 0.0f;
  while (auto b = mix->pop()) {
    for (size_t i = 0; i < b->interleaved.size(); ++i) {
      const uint64_t frame = b->first_frame + i / 2;
      const float a = std::abs(b->interleaved[i]);
      if (frame < onset) before = std::max(before, a);
      if (frame >= onset && frame < onset + heard[0].duration_frames) during = std::max(during, a);
      if (frame >= onset && a > 2e-5f) first_loud = std::min(first_loud, frame);
    }
  }
  ASSERT_NE(first_loud, UINT64_MAX) << "the musician's note never sounded in the mix";
  std::printf(
      "  [monitor] note played at jam frame %llu sounds from %llu: +%llu frames after "
      "the frame it was played at (and one JACK period of input latency before that); "
      "peak %.3f, before it %.6f\n",
      static_cast<unsigned long long>(onset), static_cast<unsigned long long>(first_loud),
      static_cast<unsigned long long>(first_loud - onset), during, before);
  EXPECT_LT(before, 1e-4f);
  EXPECT_GT(during, 0.01f);
  // The next 64-frame FluidSynth block, plus the piano's attack up to the threshold.
  EXPECT_LT(first_loud - onset, 128u);
}

TEST_F(JamHostJackTest, NoServerIsAClearError) {
  options_.jack_server_name = realtime::testing::unique_server_name("jam_host_none");
  auto host = start_host(1, quiet_band());
  ASSERT_FALSE(host.ok());
  EXPECT_EQ(host.status().code(), absl::StatusCode::kFailedPrecondition) << host.status();
  EXPECT_NE(host.status().message().find(options_.jack_server_name), std::string::npos)
      << host.status();
}

}  // namespace
}  // namespace jamd
