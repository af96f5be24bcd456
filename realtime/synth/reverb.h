// Reverb: the band's stereo room, a Schroeder/Moorer network (eight damped feedback combs in
// parallel, then four all-passes in series, per channel) applied in place to the mix. It replaces
// FluidSynth's own reverb, which allocates on the RT thread in Debian's OpenMP build
// (docs/realtime.md).
//
//   Reverb reverb({.room_size = 0.5, .level = 0.2}, 48000);   // control thread: allocates
//   reverb.process(left, right, n_frames);                      // thread: rt, never allocates
//
// Thread safety: construct on a control thread (the delay lines are allocated there, once);
// after that one thread at a time calls process(). The output depends only on the samples fed
// in, never on how they were split into calls, so the audio is the same at any period size.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace jamd::realtime {

struct ReverbSettings {
  bool enabled = true;
  double room_size = 0.5;  // 0..1: comb feedback 0.70..0.98, a 60 dB decay of ~0.6 s..~10 s
  double damping = 0.4;    // 0..1: how fast highs die in the tail
  double width = 1.0;      // 0..1: 0 is the same tail on both sides, 1 two independent tails
  // 0..1: the tail's gain, normalized so that 1 returns white noise at the dry level whatever
  // the room size. 0 leaves the mix bit for bit as it was.
  double level = 0.2;
};

class Reverb {
 public:
  static constexpr int kCombs = 8;
  static constexpr int kAllPasses = 4;

  Reverb(const ReverbSettings& settings, uint32_t sample_rate_hz);  // thread: control

  // Adds the reverb's tail to the stereo buffers, in place.
  void process(float* left, float* right, uint32_t n_frames);  // thread: rt
  // Clears the tail (all delay lines to zero).
  void clear();  // thread: rt, or while the RT thread is stopped

  bool active() const { return active_; }

 private:
  // A delay line read and written at one position that wraps.
  struct DelayLine {
    std::vector<float> samples;
    uint32_t position = 0;
    float lowpass = 0.0f;  // the comb's damping filter state (unused by all-passes)
  };
  struct Channel {
    std::array<DelayLine, kCombs> combs;
    std::array<DelayLine, kAllPasses> all_passes;
  };

  // Feeds `input` through one channel's network into `output` (overwritten), n <= kChunkFrames.
  void run_channel(Channel& channel, const float* input, float* output, uint32_t n);
  // The parallel combs' sum into `output` (overwritten), n <= kChunkFrames.
  void run_combs(Channel& channel, const float* input, float* output, uint32_t n);

  static constexpr uint32_t kChunkFrames = 256;

  bool active_ = false;
  float feedback_ = 0.0f;
  float damping_ = 0.0f;
  float input_gain_ = 0.0f;
  float wet_same_side_ = 0.0f;   // the channel's own tail
  float wet_other_side_ = 0.0f;  // the other channel's tail (width < 1 blends them)
  std::array<Channel, 2> channels_;
  // Scratch for one chunk, members so process() needs no stack arrays of this size.
  std::array<float, kChunkFrames> mono_in_{};
  std::array<float, kChunkFrames> tail_left_{};
  std::array<float, kChunkFrames> tail_right_{};
};

}  // namespace jamd::realtime
