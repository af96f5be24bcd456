// Test support for live-jam tests (tests/daemon/host, tests/daemon/record): the bundled model's
// conductor started on its thread, a short band-alone jam state, bounded waits on a host's clock
// and the peak of mix blocks. Real parts only: the bundled model, the real synth and clock.
//
//   std::unique_ptr<Conductor> conductor = start_conductor();   // ASSERTs inside: call from TEST
//   auto host = JamHost::start(1, band_alone_state(/*seed=*/3), *conductor, {});
//   wait_for_frames(**host, 3 * (*host)->sample_rate_hz());
//
// Thread safety: test thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "daemon/conductor/conductor.h"
#include "daemon/host/jam_host.h"

namespace jamd::testing {

inline constexpr double kFastTempoBpm = 240.0;  // a bar a second: the tests stay short
inline constexpr int kGiveUpSeconds = 60;  // bounds a wait on a starved machine; never asserted

// The bundled model's conductor, started; nullptr (with a test failure) when it does not load.
std::unique_ptr<Conductor> start_conductor();

// Drums, bass and keys in continue mode at kFastTempoBpm, free key, density 0.5.
JamState band_alone_state(uint64_t seed);

// Waits until the host's jam clock has played `frames` (or kGiveUpSeconds passed).
void wait_for_frames(const JamHost& host, uint64_t frames);

// The largest absolute sample of a mix block, or of a span of samples.
float peak(std::span<const float> samples);
float peak(const MixBlock& block);

}  // namespace jamd::testing
