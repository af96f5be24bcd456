// MasterLimiter: the band's master stage, the last thing the mix passes before the outputs and the
// tap. A fixed make-up gain brings FluidSynth's quiet GM mix to a listening level; a peak limiter
// then keeps every sample under the ceiling, so a dense band never clips.
//
//   MasterLimiter master({}, 48000);         // control thread
//   master.process(left, right, n_frames);   // thread: rt, never allocates
//
// The limiter has no look-ahead (it adds no latency to a live jam): each sample's gain is the
// smaller of the released gain and what keeps that sample under the ceiling, so the attack is
// instant; the gain then holds while peaks keep coming near the ceiling and rises back with
// `release_ms` after `hold_ms` without one (the hold keeps a bass note's cycles from being
// flattened by a gain that recovers between its peaks). Both channels share one gain, so the
// stereo image does not move. An overshooting transient loses the top of its first half-cycle
// (a few samples); the make-up gain is chosen so that the typical band rarely reaches it.
//
// Thread safety: construct on a control thread; then one thread at a time calls process() and
// clear(). Sample by sample: the output never depends on how the frames were split into calls.
#pragma once

#include <cstdint>

namespace jamd::realtime {

struct MasterSettings {
  bool enabled = true;
  // +10 dB: the default band (jamd render: drums, bass, keys at density 0.5) came out of
  // FluidSynth's gain 0.4, CC 7 81 and the velocity curve at -27.5 LUFS, peaks -12 dBFS; this
  // puts it at about -17.5 LUFS, peaks -2 dBFS (docs/PERFORMANCE.md, "Levels").
  float gain_db = 10.0f;
  float ceiling_dbfs = -1.0f;  // -1 dBFS: room for Opus's overshoot on the way to listeners
  float hold_ms = 25.0f;       // longer than the half-cycle of a 30 Hz bass note (16.7 ms)
  float release_ms = 150.0f;   // back to full gain after a peak: slow enough not to pump
};

class MasterLimiter {
 public:
  MasterLimiter(const MasterSettings& settings, uint32_t sample_rate_hz);  // thread: control

  // Gain, then limiting, in place.
  void process(float* left, float* right, uint32_t n_frames);  // thread: rt
  // Forgets the gain reduction (a stop: the next note starts at full gain).
  void clear() {  // thread: rt
    reduction_ = 1.0f;
    hold_frames_left_ = 0;
  }

  float gain() const { return gain_; }            // linear make-up gain
  float ceiling() const { return ceiling_; }      // linear
  float reduction() const { return reduction_; }  // the limiter's current gain, 0..1

 private:
  const bool enabled_;
  const float gain_;
  const float ceiling_;
  const uint32_t hold_frames_;
  const float release_coefficient_;  // per sample: the share of the way back to 1
  float reduction_ = 1.0f;           // thread: rt
  uint32_t hold_frames_left_ = 0;    // thread: rt
};

}  // namespace jamd::realtime
