// Chorus: a few copies of the mix, each delayed by a slowly swept 12 ms or so, added back in
// place; the sweeps detune the copies a little, which thickens the band. It replaces FluidSynth's
// own chorus, which allocates on the RT thread in Debian's OpenMP build (docs/realtime.md).
//
//   Chorus chorus({.voices = 3, .level = 0.3}, 48000);   // control thread: allocates
//   chorus.process(left, right, n_frames);               // thread: rt, never allocates
//
// Thread safety: construct on a control thread (delay lines and the sine table are allocated
// there, once); after that one thread at a time calls process(). The output depends only on the
// samples fed in, never on how they were split into calls.
#pragma once

#include <cstdint>
#include <vector>

namespace jamd::realtime {

struct ChorusSettings {
  bool enabled = true;
  int voices = 3;         // 1..8 delayed copies, their sweeps spread evenly over the cycle
  double level = 0.3;     // 0..1: the copies' total gain; 0 leaves the mix bit for bit
  double rate_hz = 0.3;   // 0.01..5: how fast each delay sweeps
  double depth_ms = 2.5;  // 0..10: how far each delay swings either side of its centre
};

class Chorus {
 public:
  static constexpr int kMaxVoices = 8;
  static constexpr double kCentreDelayMs = 12.0;
  static constexpr double kMaxDepthMs = 10.0;

  Chorus(const ChorusSettings& settings, uint32_t sample_rate_hz);  // thread: control

  // Adds the delayed copies to the stereo buffers, in place.
  void process(float* left, float* right, uint32_t n_frames);  // thread: rt
  // Empties the delay lines (the sweep goes on where it was).
  void clear();  // thread: rt, or while the RT thread is stopped

  bool active() const { return active_; }

 private:
  // The delay, in frames, of a voice whose sweep is at `phase` (a full cycle is 2^32).
  float delay_frames_at(uint32_t phase) const;
  // The line's sample `delay_frames` (fractional) before the write position.
  float read(const std::vector<float>& line, float delay_frames) const;

  bool active_ = false;
  int n_voices_ = 1;
  float gain_per_voice_ = 0.0f;
  float centre_frames_ = 0.0f;
  float depth_frames_ = 0.0f;
  uint32_t phase_ = 0;            // the sweep, fixed point: wraps by itself, exact in any chunking
  uint32_t phase_increment_ = 0;  // per frame
  std::vector<float> sine_;       // one cycle, kSineSize + 1 entries (the last repeats the first)
  std::vector<float> line_left_, line_right_;  // power-of-two lengths
  uint32_t line_mask_ = 0;
  uint32_t write_position_ = 0;
};

}  // namespace jamd::realtime
