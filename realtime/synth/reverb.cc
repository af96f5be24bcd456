// Reverb: the comb and all-pass network, filter by filter over chunks of the period (each
// filter's loop stays in its own delay line, and the order of every sum is the same whatever the
// chunking, so the output does not depend on the period size).
#include "realtime/synth/reverb.h"

#include <algorithm>
#include <cmath>

namespace jamd::realtime {
namespace {

// Delay lengths in milliseconds: the classic Schroeder/Moorer tuning (comb delays of 25-37 ms,
// not multiples of one another, so their echoes do not pile up into a pitch; all-passes of
// 5-13 ms that smear each echo into a cloud). The right channel's lines are a little longer, so
// its tail is a different, uncorrelated one: that is the stereo width.
constexpr std::array<double, Reverb::kCombs> kCombMs = {25.31, 26.94, 28.96, 30.75,
                                                        32.25, 33.81, 35.31, 36.67};
constexpr std::array<double, Reverb::kAllPasses> kAllPassMs = {12.61, 10.00, 7.73, 5.10};
constexpr double kRightSpreadMs = 0.52;

// The all-passes' coefficient: 0.5 diffuses without colouring the tail.
constexpr float kAllPassFeedback = 0.5f;
// The combs' feedback spans 0.70 (a small room) to 0.98 (a hall): past ~0.98 the tail rings.
constexpr double kFeedbackMin = 0.70;
constexpr double kFeedbackRange = 0.28;
// Damping is a one-pole low-pass in each comb's loop; 0.4 at most keeps the tail from dulling
// into a rumble.
constexpr double kDampingMax = 0.4;

// A filter state that decays below this is set to zero: a tail left alone in silence would
// otherwise reach denormals after ~15 s and stay there (a feedback below 1 rounds the smallest
// ones back up), and each denormal operation costs ~100x on x86. 1e-15 is -300 dB: inaudible.
// (The add-and-subtract-a-constant trick does not work here: it only snaps values to a grid,
// and the feedback loop then cycles on the grid's smallest step.)
constexpr float kSilentBelow = 1e-15f;

inline float flush_denormal(float x) { return std::fabs(x) < kSilentBelow ? 0.0f : x; }

uint32_t frames_for_ms(double ms, uint32_t sample_rate_hz) {
  return std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(ms * 1e-3 * sample_rate_hz)));
}

}  // namespace

Reverb::Reverb(const ReverbSettings& settings, uint32_t sample_rate_hz) {
  const double room = std::clamp(settings.room_size, 0.0, 1.0);
  const double width = std::clamp(settings.width, 0.0, 1.0);
  const double level = std::clamp(settings.level, 0.0, 1.0);
  const double feedback = kFeedbackMin + kFeedbackRange * room;
  feedback_ = static_cast<float>(feedback);
  damping_ = static_cast<float>(kDampingMax * std::clamp(settings.damping, 0.0, 1.0));
  // A comb fed white noise returns 1 / (1 - feedback²) times its power; eight uncorrelated combs
  // eight times that. This gain brings the sum back to the input's power (before damping), so
  // `level` means the same loudness in every room.
  input_gain_ = static_cast<float>(std::sqrt((1.0 - feedback * feedback) / kCombs));
  wet_same_side_ = static_cast<float>(level * (1.0 + width) / 2.0);
  wet_other_side_ = static_cast<float>(level * (1.0 - width) / 2.0);
  active_ = settings.enabled && level > 0.0;
  for (int side = 0; side < 2; ++side) {
    const double spread_ms = side == 0 ? 0.0 : kRightSpreadMs;
    for (int i = 0; i < kCombs; ++i) {
      channels_[side].combs[i].samples.assign(frames_for_ms(kCombMs[i] + spread_ms, sample_rate_hz),
                                              0.0f);
    }
    for (int i = 0; i < kAllPasses; ++i) {
      channels_[side].all_passes[i].samples.assign(
          frames_for_ms(kAllPassMs[i] + spread_ms, sample_rate_hz), 0.0f);
    }
  }
}

void Reverb::clear() {
  for (Channel& channel : channels_) {
    for (DelayLine& line : channel.combs) {
      std::fill(line.samples.begin(), line.samples.end(), 0.0f);
      line.lowpass = 0.0f;
    }
    for (DelayLine& line : channel.all_passes) {
      std::fill(line.samples.begin(), line.samples.end(), 0.0f);
    }
  }
}

// The eight combs run side by side, sample by sample: each comb's damping loop is a chain of
// dependent operations, and one comb after another left the core waiting on it; eight chains in
// flight at once take ~40 % less CPU (a jam's reverb ~3.0 -> ~1.7 ms per second of audio, thread
// CPU time, x86-64 baseline). Each sample's sum adds the combs in the same order as before, so
// the output is bit for bit the same. Between wraps no line needs its position checked: the loop
// runs in segments up to the next one. Unrolled, the positions and filter states stay in registers.
void Reverb::run_combs(Channel& channel, const float* input, float* output, uint32_t n) {
  const float feedback = feedback_;
  const float damping = damping_;
  const float undamped = 1.0f - damping;
  std::array<float*, kCombs> at{};  // each line at its position
  std::array<float, kCombs> lowpass{};
#pragma GCC unroll 8
  for (int c = 0; c < kCombs; ++c) {
    at[c] = channel.combs[c].samples.data() + channel.combs[c].position;
    lowpass[c] = channel.combs[c].lowpass;
  }
  uint32_t done = 0;
  while (done < n) {
    uint32_t segment = n - done;
#pragma GCC unroll 8
    for (int c = 0; c < kCombs; ++c) {
      const DelayLine& comb = channel.combs[c];
      const auto left = static_cast<uint32_t>(comb.samples.data() + comb.samples.size() - at[c]);
      segment = std::min(segment, left);
    }
    for (uint32_t i = done; i < done + segment; ++i) {
      float sum = 0.0f;
#pragma GCC unroll 8
      for (int c = 0; c < kCombs; ++c) {
        const float delayed = *at[c];
        lowpass[c] = flush_denormal(delayed * undamped + lowpass[c] * damping);
        *at[c]++ = input[i] + lowpass[c] * feedback;
        sum += delayed;
      }
      output[i] = sum;
    }
    done += segment;
#pragma GCC unroll 8
    for (int c = 0; c < kCombs; ++c) {
      std::vector<float>& samples = channel.combs[c].samples;
      if (at[c] == samples.data() + samples.size()) at[c] = samples.data();
    }
  }
#pragma GCC unroll 8
  for (int c = 0; c < kCombs; ++c) {
    DelayLine& comb = channel.combs[c];
    comb.position = static_cast<uint32_t>(at[c] - comb.samples.data());
    comb.lowpass = lowpass[c];
  }
}

void Reverb::run_channel(Channel& channel, const float* input, float* output, uint32_t n) {
  run_combs(channel, input, output, n);
  for (DelayLine& all_pass : channel.all_passes) {
    float* line = all_pass.samples.data();
    const auto size = static_cast<uint32_t>(all_pass.samples.size());
    uint32_t pos = all_pass.position;
    for (uint32_t i = 0; i < n; ++i) {
      const float delayed = line[pos];
      const float x = output[i];
      line[pos] = flush_denormal(x + delayed * kAllPassFeedback);
      output[i] = delayed - x;
      if (++pos == size) pos = 0;
    }
    all_pass.position = pos;
  }
}

void Reverb::process(float* left, float* right, uint32_t n_frames) {
  if (!active_) return;
  for (uint32_t start = 0; start < n_frames; start += kChunkFrames) {
    const uint32_t n = std::min(kChunkFrames, n_frames - start);
    float* l = left + start;
    float* r = right + start;
    for (uint32_t i = 0; i < n; ++i) mono_in_[i] = (l[i] + r[i]) * 0.5f * input_gain_;
    run_channel(channels_[0], mono_in_.data(), tail_left_.data(), n);
    run_channel(channels_[1], mono_in_.data(), tail_right_.data(), n);
    for (uint32_t i = 0; i < n; ++i) {
      l[i] += wet_same_side_ * tail_left_[i] + wet_other_side_ * tail_right_[i];
      r[i] += wet_same_side_ * tail_right_[i] + wet_other_side_ * tail_left_[i];
    }
  }
}

}  // namespace jamd::realtime
