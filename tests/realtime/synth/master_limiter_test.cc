// MasterLimiter: a loud band never passes the ceiling, a quiet one only gets the gain, the
// limiter is smooth (no jumps, no clipped waveforms) and its output does not depend on the
// period size.
#include "realtime/synth/master_limiter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <vector>

namespace jamd::realtime {
namespace {

constexpr uint32_t kRateHz = 48000;

struct Stereo {
  std::vector<float> left, right;
};

// A sine of `frequency_hz` whose amplitude is `amplitude(frame)`.
template <typename Amplitude>
Stereo sine(double frequency_hz, size_t n_frames, Amplitude amplitude) {
  Stereo s{std::vector<float>(n_frames), std::vector<float>(n_frames)};
  for (size_t i = 0; i < n_frames; ++i) {
    const double phase = 2 * std::numbers::pi * frequency_hz * static_cast<double>(i) / kRateHz;
    s.left[i] = static_cast<float>(amplitude(i) * std::sin(phase));
    s.right[i] = static_cast<float>(amplitude(i) * std::sin(phase + 0.3));
  }
  return s;
}

Stereo limited(const MasterSettings& settings, Stereo s, uint32_t chunk_frames) {
  MasterLimiter master(settings, kRateHz);
  for (size_t at = 0; at < s.left.size(); at += chunk_frames) {
    const auto n = static_cast<uint32_t>(std::min<size_t>(chunk_frames, s.left.size() - at));
    master.process(s.left.data() + at, s.right.data() + at, n);
  }
  return s;
}

float peak(const std::vector<float>& v, size_t from = 0) {
  float p = 0;
  for (size_t i = from; i < v.size(); ++i) p = std::max(p, std::fabs(v[i]));
  return p;
}

TEST(MasterLimiter, ADenseLoudBandNeverPassesTheCeiling) {
  // Chords of sines plus noise bursts, up to 30 dB over the ceiling after the gain.
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> noise(-1.0f, 1.0f);
  const size_t n = 3 * kRateHz;
  Stereo s = sine(110, n, [](size_t i) { return 0.5 + 0.5 * std::sin(i * 1e-4); });
  for (size_t i = 0; i < n; ++i) {
    const float burst = (i / 4800) % 3 == 0 ? 6.0f : 0.0f;
    s.left[i] += burst * noise(rng) + 0.7f * std::sin(static_cast<float>(i) * 0.05f);
    s.right[i] += burst * noise(rng);
  }
  const MasterSettings settings;
  const Stereo out = limited(settings, s, 64);
  const float ceiling = MasterLimiter(settings, kRateHz).ceiling();
  EXPECT_LE(peak(out.left), ceiling * (1 + 1e-6f));
  EXPECT_LE(peak(out.right), ceiling * (1 + 1e-6f));
  EXPECT_GT(peak(out.left), ceiling * 0.99f) << "the loud input should reach the ceiling";
}

TEST(MasterLimiter, AQuietBandOnlyGetsTheGain) {
  const MasterSettings settings;
  const float gain = MasterLimiter(settings, kRateHz).gain();
  const Stereo in = sine(440, kRateHz, [&](size_t) { return 0.8 / gain; });  // peaks -2 dBFS
  const Stereo out = limited(settings, in, 64);
  for (size_t i = 0; i < in.left.size(); ++i) {
    ASSERT_EQ(out.left[i], in.left[i] * gain) << "frame " << i;
    ASSERT_EQ(out.right[i], in.right[i] * gain) << "frame " << i;
  }
}

TEST(MasterLimiter, NoJumpsAndNoClippedWaveforms) {
  // 50 Hz: a quiet second, then a sudden step (at a zero crossing) to 25 dB over the ceiling.
  const MasterSettings settings;
  const MasterLimiter probe(settings, kRateHz);
  const size_t step_frame = kRateHz;  // 50 whole cycles: a zero crossing
  const Stereo in = sine(50, 3 * kRateHz, [&](size_t i) { return i < step_frame ? 0.05 : 4.0; });
  const Stereo out = limited(settings, in, 64);
  float input_jump = 0, output_jump = 0;
  for (size_t i = 1; i < in.left.size(); ++i) {
    input_jump = std::max(input_jump, std::fabs(in.left[i] - in.left[i - 1]));
    output_jump = std::max(output_jump, std::fabs(out.left[i] - out.left[i - 1]));
  }
  // The gain may steepen the slope by at most the make-up gain, never add a step of its own.
  EXPECT_LE(output_jump, probe.gain() * input_jump * 1.01f);
  // Once the gain reduction has settled, the output is still a sine (rms/peak = 1/sqrt 2), not
  // the square wave a clipper would make of it (rms/peak near 1).
  const size_t from = 2 * kRateHz;
  double sum = 0;
  for (size_t i = from; i < out.left.size(); ++i) sum += double{out.left[i]} * out.left[i];
  const double rms = std::sqrt(sum / static_cast<double>(out.left.size() - from));
  EXPECT_NEAR(rms / peak(out.left, from), 1 / std::numbers::sqrt2, 0.02);
}

TEST(MasterLimiter, AfterAPeakTheGainComesBack) {
  const MasterSettings settings;
  const float gain = MasterLimiter(settings, kRateHz).gain();
  // Loud for 0.2 s, then quiet for 1.8 s: 12 release times later the quiet part has its gain.
  const Stereo in = sine(200, 2 * kRateHz, [](size_t i) { return i < kRateHz / 5 ? 3.0 : 0.05; });
  const Stereo out = limited(settings, in, 64);
  const size_t end = in.left.size() - 1000;
  EXPECT_LT(std::fabs(out.left[kRateHz / 5 + 480]), 0.05f * gain * 0.5f + 1e-3f)
      << "just after the peak the gain is still reduced";
  for (size_t i = end; i < in.left.size(); ++i) {
    EXPECT_NEAR(out.left[i], in.left[i] * gain, 1e-4f) << "frame " << i;
  }
}

TEST(MasterLimiter, ThePeriodSizeDoesNotMatter) {
  const Stereo in = sine(330, kRateHz, [](size_t i) { return 0.2 + 2.0 * ((i / 3000) % 2); });
  const Stereo a = limited({}, in, 64);
  const Stereo b = limited({}, in, 1000);
  const Stereo c = limited({}, in, 37);
  EXPECT_EQ(a.left, b.left);
  EXPECT_EQ(a.right, c.right);
}

TEST(MasterLimiter, DisabledLeavesTheMixBitForBit) {
  const Stereo in = sine(330, 4800, [](size_t) { return 3.0; });
  const Stereo out = limited({.enabled = false}, in, 64);
  EXPECT_EQ(out.left, in.left);
  EXPECT_EQ(out.right, in.right);
}

}  // namespace
}  // namespace jamd::realtime
