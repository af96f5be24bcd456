// Chorus: delay lines read at swept, fractional delays (linear interpolation), the sweep a sine
// from a table with a fixed-point phase, so a chunk of any size gives the same samples.
#include "realtime/synth/chorus.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace jamd::realtime {
namespace {

constexpr int kSineBits = 11;
constexpr uint32_t kSineSize = 1u << kSineBits;
constexpr double kPhaseCycle = 4294967296.0;  // 2^32: one sweep
constexpr uint32_t kQuarterCycle = 1u << 30;  // the right side sweeps a quarter cycle later

uint32_t next_power_of_two(uint32_t n) {
  uint32_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace

Chorus::Chorus(const ChorusSettings& settings, uint32_t sample_rate_hz) {
  n_voices_ = std::clamp(settings.voices, 1, kMaxVoices);
  const double level = std::clamp(settings.level, 0.0, 1.0);
  const double depth_ms = std::clamp(settings.depth_ms, 0.0, kMaxDepthMs);
  const double rate_hz = std::clamp(settings.rate_hz, 0.01, 5.0);
  active_ = settings.enabled && level > 0.0;
  gain_per_voice_ = static_cast<float>(level / n_voices_);
  centre_frames_ = static_cast<float>(kCentreDelayMs * 1e-3 * sample_rate_hz);
  depth_frames_ = static_cast<float>(depth_ms * 1e-3 * sample_rate_hz);
  phase_increment_ = static_cast<uint32_t>(std::lround(rate_hz / sample_rate_hz * kPhaseCycle));
  sine_.resize(kSineSize + 1);
  for (uint32_t i = 0; i <= kSineSize; ++i) {
    sine_[i] = static_cast<float>(std::sin(2.0 * std::numbers::pi * i / kSineSize));
  }
  // The longest delay plus the two frames the interpolation reads.
  const double longest_ms = kCentreDelayMs + kMaxDepthMs;
  const auto longest = static_cast<uint32_t>(std::ceil(longest_ms * 1e-3 * sample_rate_hz)) + 2;
  const uint32_t size = next_power_of_two(longest);
  line_left_.assign(size, 0.0f);
  line_right_.assign(size, 0.0f);
  line_mask_ = size - 1;
}

float Chorus::delay_frames_at(uint32_t phase) const {
  const uint32_t index = phase >> (32 - kSineBits);
  const float fraction = static_cast<float>(phase & ((1u << (32 - kSineBits)) - 1)) *
                         (1.0f / (1u << (32 - kSineBits)));
  const float sine = sine_[index] + (sine_[index + 1] - sine_[index]) * fraction;
  return centre_frames_ + depth_frames_ * sine;
}

float Chorus::read(const std::vector<float>& line, float delay_frames) const {
  const auto whole = static_cast<uint32_t>(delay_frames);
  const float fraction = delay_frames - static_cast<float>(whole);
  const float newer = line[(write_position_ - whole) & line_mask_];
  const float older = line[(write_position_ - whole - 1) & line_mask_];
  return newer + (older - newer) * fraction;
}

void Chorus::clear() {
  std::fill(line_left_.begin(), line_left_.end(), 0.0f);
  std::fill(line_right_.begin(), line_right_.end(), 0.0f);
}

void Chorus::process(float* left, float* right, uint32_t n_frames) {
  if (!active_) return;
  const uint32_t voice_spacing = static_cast<uint32_t>(kPhaseCycle / n_voices_);
  for (uint32_t i = 0; i < n_frames; ++i) {
    line_left_[write_position_] = left[i];
    line_right_[write_position_] = right[i];
    float wet_left = 0.0f;
    float wet_right = 0.0f;
    for (int v = 0; v < n_voices_; ++v) {
      const uint32_t phase = phase_ + static_cast<uint32_t>(v) * voice_spacing;
      wet_left += read(line_left_, delay_frames_at(phase));
      wet_right += read(line_right_, delay_frames_at(phase + kQuarterCycle));
    }
    left[i] += gain_per_voice_ * wet_left;
    right[i] += gain_per_voice_ * wet_right;
    write_position_ = (write_position_ + 1) & line_mask_;
    phase_ += phase_increment_;
  }
}

}  // namespace jamd::realtime
