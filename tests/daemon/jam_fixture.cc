// Test support for live-jam tests: the bundled model's conductor, a band-alone state, waits.
#include "tests/daemon/jam_fixture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

namespace jamd::testing {

std::unique_ptr<Conductor> start_conductor() {
  auto conductor = Conductor::create({.model_path = JAMD_SOURCE_DIR "/models/band.jamd"});
  EXPECT_TRUE(conductor.ok()) << conductor.status();
  if (!conductor.ok()) return nullptr;
  (*conductor)->start();
  return std::move(*conductor);
}

JamState band_alone_state(uint64_t seed) {
  JamState state;
  state.tempo_bpm = kFastTempoBpm;
  state.key_tonic = -1;
  state.density = 0.5f;
  state.mode = JamMode::kContinue;
  state.seed = seed;
  state.parts[kPartPad].enabled = false;
  state.parts[kPartLead].enabled = false;
  return state;
}

void wait_for_frames(const JamHost& host, uint64_t frames) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(kGiveUpSeconds);
  while (host.stats().frames_played < frames && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

float peak(std::span<const float> samples) {
  float p = 0.0f;
  for (float s : samples) p = std::max(p, std::abs(s));
  return p;
}

float peak(const MixBlock& block) { return peak(block.interleaved); }

}  // namespace jamd::testing
