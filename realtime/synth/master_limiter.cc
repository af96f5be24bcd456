// MasterLimiter: make-up gain and an instant-attack, smooth-release peak limiter.
#include "realtime/synth/master_limiter.h"

#include <algorithm>
#include <cmath>

namespace jamd::realtime {
namespace {

// A peak this close under the ceiling (0.2 dB) restarts the hold: the gain that brought the last
// peak down to the ceiling is still the right one.
constexpr float kHoldThreshold = 0.977f;

float db_to_linear(float db) { return std::pow(10.0f, db / 20.0f); }

}  // namespace

MasterLimiter::MasterLimiter(const MasterSettings& settings, uint32_t sample_rate_hz)
    : enabled_(settings.enabled),
      gain_(db_to_linear(settings.gain_db)),
      ceiling_(db_to_linear(settings.ceiling_dbfs)),
      hold_frames_(static_cast<uint32_t>(std::max(0.0f, settings.hold_ms) * 1e-3f *
                                         static_cast<float>(sample_rate_hz))),
      release_coefficient_(static_cast<float>(
          1.0 - std::exp(-1.0 / (std::max(settings.release_ms, 1.0f) * 1e-3 * sample_rate_hz)))) {}

void MasterLimiter::process(float* left, float* right, uint32_t n_frames) {
  if (!enabled_) return;
  float reduction = reduction_;
  uint32_t hold = hold_frames_left_;
  for (uint32_t i = 0; i < n_frames; ++i) {
    const float l = left[i] * gain_;
    const float r = right[i] * gain_;
    // Release first (towards 1) unless holding, then the attack this sample needs, if any.
    if (hold > 0) {
      --hold;
    } else {
      reduction += (1.0f - reduction) * release_coefficient_;
    }
    const float peak = std::max(std::fabs(l), std::fabs(r));
    if (peak * reduction > ceiling_) reduction = ceiling_ / peak;
    if (reduction < 1.0f && peak * reduction > ceiling_ * kHoldThreshold) hold = hold_frames_;
    left[i] = l * reduction;
    right[i] = r * reduction;
  }
  reduction_ = reduction;
  hold_frames_left_ = hold;
}

}  // namespace jamd::realtime
