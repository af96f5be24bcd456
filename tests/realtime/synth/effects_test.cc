// The band's own reverb and chorus: the reverb's tail exists and decays, a bigger room rings
// longer, a tail flushes to exact zero in silence (no denormals); the chorus is a delayed copy
// whose delay sweeps; level 0 leaves the mix bit for bit; the output does not depend on how the
// audio is split into periods; and Band applies them to the mix.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "realtime/core/scheduler.h"
#include "realtime/synth/band.h"
#include "realtime/synth/chorus.h"
#include "realtime/synth/reverb.h"
#include "realtime/synth/synth.h"

namespace jamd::realtime {
namespace {

constexpr uint32_t kRate = 48000;

struct Stereo {
  std::vector<float> left, right;
  explicit Stereo(size_t n) : left(n, 0.0f), right(n, 0.0f) {}
};

Stereo impulse(size_t n_frames) {
  Stereo s(n_frames);
  s.left[0] = s.right[0] = 1.0f;
  return s;
}

Stereo noise(size_t n_frames, uint32_t seed) {
  Stereo s(n_frames);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-0.5f, 0.5f);
  for (size_t i = 0; i < n_frames; ++i) {
    s.left[i] = dist(rng);
    s.right[i] = dist(rng);
  }
  return s;
}

// Energy of both channels over [begin_s, end_s).
double energy(const Stereo& s, double begin_s, double end_s) {
  double e = 0;
  for (auto i = static_cast<size_t>(begin_s * kRate); i < static_cast<size_t>(end_s * kRate); ++i) {
    e += double{s.left[i]} * s.left[i] + double{s.right[i]} * s.right[i];
  }
  return e;
}

template <typename Effect>
void process_in_chunks(Effect& effect, Stereo& s, uint32_t chunk_frames) {
  for (size_t start = 0; start < s.left.size(); start += chunk_frames) {
    const auto n = static_cast<uint32_t>(std::min<size_t>(chunk_frames, s.left.size() - start));
    effect.process(s.left.data() + start, s.right.data() + start, n);
  }
}

TEST(Reverb, ImpulseLeavesATailThatDecays) {
  Reverb reverb({.room_size = 0.5, .level = 0.5}, kRate);
  Stereo s = impulse(2 * kRate);
  process_in_chunks(reverb, s, 64);
  // The dry impulse is one frame; everything after it is the tail.
  const double windows[] = {energy(s, 0.05, 0.15), energy(s, 0.25, 0.35), energy(s, 0.5, 0.6),
                            energy(s, 1.0, 1.1), energy(s, 1.5, 1.6)};
  EXPECT_GT(windows[0], 1e-4);
  for (size_t i = 1; i < std::size(windows); ++i) {
    EXPECT_GT(windows[i], 0.0) << "window " << i;
    EXPECT_LT(windows[i], windows[i - 1]) << "window " << i;
  }
  EXPECT_NE(s.left, s.right);  // two tails, not one: the stereo width
}

TEST(Reverb, BiggerRoomRingsLonger) {
  auto late_share = [](double room) {
    Reverb reverb({.room_size = room, .level = 0.5}, kRate);
    Stereo s = impulse(2 * kRate);
    process_in_chunks(reverb, s, 256);
    return energy(s, 1.0, 2.0) / energy(s, 0.001, 2.0);
  };
  EXPECT_GT(late_share(0.9), 10 * late_share(0.2));
}

TEST(Reverb, MoreDampingDullsTheTail) {
  // High-frequency energy of the tail: the sum of squared differences of neighbouring frames.
  auto brightness = [](double damping) {
    Reverb reverb({.room_size = 0.5, .damping = damping, .level = 0.5}, kRate);
    Stereo s = impulse(kRate);
    process_in_chunks(reverb, s, 256);
    double diff = 0;
    for (size_t i = kRate / 2; i < kRate; ++i) {
      diff += std::pow(double{s.left[i]} - s.left[i - 1], 2);
    }
    return diff / energy(s, 0.5, 1.0);
  };
  EXPECT_LT(brightness(1.0), brightness(0.0));
}

TEST(Reverb, TailInSilenceEndsInExactZerosNotDenormals) {
  Reverb reverb({.room_size = 0.5, .level = 0.5}, kRate);
  Stereo s = impulse(15 * kRate);  // room 0.5 reaches zero after ~6.5 s
  process_in_chunks(reverb, s, 1024);
  const auto last_second = s.left.end() - kRate;
  EXPECT_TRUE(std::all_of(last_second, s.left.end(), [](float x) { return x == 0.0f; }));
}

TEST(Chorus, WithoutDepthItIsOneEchoAtTheCentreDelay) {
  Chorus chorus({.voices = 1, .level = 0.5, .depth_ms = 0.0}, kRate);
  Stereo s = impulse(kRate / 10);
  process_in_chunks(chorus, s, 64);
  const auto centre = static_cast<size_t>(Chorus::kCentreDelayMs * 1e-3 * kRate);  // 576
  for (size_t i = 1; i < s.left.size(); ++i) {
    ASSERT_EQ(s.left[i], i == centre ? 0.5f : 0.0f) << i;
    ASSERT_EQ(s.right[i], i == centre ? 0.5f : 0.0f) << i;
  }
}

TEST(Chorus, TheEchoSweepsBetweenShorterAndLongerDelays) {
  // One voice sweeping once a second by ±2.5 ms (±120 frames): an impulse a quarter of the way
  // into the cycle comes back late, one three quarters in comes back early.
  Chorus chorus({.voices = 1, .level = 0.5, .rate_hz = 1.0, .depth_ms = 2.5}, kRate);
  Stereo s(kRate);
  const size_t quarter = kRate / 4, three_quarters = 3 * kRate / 4;
  s.left[quarter] = s.left[three_quarters] = 1.0f;
  process_in_chunks(chorus, s, 64);
  auto echo_delay = [&](size_t at) {
    const auto from = s.left.begin() + static_cast<std::ptrdiff_t>(at + 1);
    return static_cast<double>(std::max_element(from, from + 2000) - from + 1);
  };
  const double centre = Chorus::kCentreDelayMs * 1e-3 * kRate;
  EXPECT_NEAR(echo_delay(quarter), centre + 120, 12);
  EXPECT_NEAR(echo_delay(three_quarters), centre - 120, 12);
}

TEST(Effects, LevelZeroLeavesTheMixBitForBit) {
  const Stereo dry = noise(kRate / 2, 7);
  Stereo reverbed = dry, chorused = dry;
  Reverb reverb({.room_size = 0.9, .level = 0.0}, kRate);
  Chorus chorus({.voices = 4, .level = 0.0}, kRate);
  process_in_chunks(reverb, reverbed, 64);
  process_in_chunks(chorus, chorused, 64);
  EXPECT_EQ(reverbed.left, dry.left);
  EXPECT_EQ(reverbed.right, dry.right);
  EXPECT_EQ(chorused.left, dry.left);
  EXPECT_EQ(chorused.right, dry.right);
}

TEST(Effects, OutputDoesNotDependOnTheChunking) {
  auto run = [](uint32_t chunk) {
    Stereo s = noise(kRate / 2, 11);
    Chorus chorus({}, kRate);
    Reverb reverb({}, kRate);
    for (size_t start = 0; start < s.left.size(); start += chunk) {
      const auto n = static_cast<uint32_t>(std::min<size_t>(chunk, s.left.size() - start));
      chorus.process(s.left.data() + start, s.right.data() + start, n);
      reverb.process(s.left.data() + start, s.right.data() + start, n);
    }
    return s;
  };
  const Stereo a = run(64), b = run(100), c = run(1000);
  EXPECT_EQ(a.left, b.left);
  EXPECT_EQ(a.right, b.right);
  EXPECT_EQ(a.left, c.left);
  EXPECT_EQ(a.right, c.right);
}

// Band with the synth's effect settings: a few notes, then silence, rendered in 256-frame
// periods.
Stereo play_band(const ReverbSettings& reverb, const ChorusSettings& chorus) {
  SynthOptions options;
  options.reverb = reverb;
  options.chorus = chorus;
  absl::StatusOr<std::unique_ptr<Synth>> synth = Synth::create(options);
  EXPECT_TRUE(synth.ok()) << synth.status();
  if (!synth.ok()) return Stereo(0);
  Scheduler sched({.sample_rate_hz = kRate, .ticks_per_quarter = 480});  // 50 frames a tick
  for (int i = 0; i < 4; ++i) {
    sched.note_on(i * 120, 0, 60 + 4 * i, 100);
    sched.note_off(i * 120 + 100, 0, 60 + 4 * i);
  }
  Band band(sched, **synth);
  constexpr uint32_t kPeriod = 256;
  Stereo out(kRate * 2);
  ProcessBlock block;
  block.n_frames = kPeriod;
  for (size_t first = 0; first + kPeriod <= out.left.size(); first += kPeriod) {
    block.first_frame = first;
    block.audio_out[0] = {out.left.data() + first, kPeriod};
    block.audio_out[1] = {out.right.data() + first, kPeriod};
    band.process(block);
  }
  return out;
}

TEST(Band, EffectsAtLevelZeroSoundLikeNoEffects) {
  const Stereo off = play_band({.enabled = false}, {.enabled = false});
  const Stereo zero = play_band({.level = 0.0}, {.level = 0.0});
  const Stereo on = play_band({}, {});
  ASSERT_FALSE(off.left.empty());
  EXPECT_EQ(zero.left, off.left);
  EXPECT_EQ(zero.right, off.right);
  EXPECT_NE(on.left, off.left);  // the comparison can fail: the effects do change the mix
}

TEST(Band, ReverbKeepsSoundingAfterTheSynthFallsSilent) {
  const Stereo dry = play_band({.enabled = false}, {.enabled = false});
  const Stereo wet = play_band({.room_size = 0.8, .level = 0.5}, {.enabled = false});
  // The last note ends at tick 460 (0.48 s); find where the dry band has fallen silent.
  size_t dry_end = dry.left.size();
  while (dry_end > 0 && std::fabs(dry.left[dry_end - 1]) < 1e-6f &&
         std::fabs(dry.right[dry_end - 1]) < 1e-6f) {
    --dry_end;
  }
  ASSERT_LT(dry_end + kRate / 10, dry.left.size()) << "the dry band never fell silent";
  const double after_s = static_cast<double>(dry_end) / kRate;
  EXPECT_GT(energy(wet, after_s, after_s + 0.1), 1e-6);
}

TEST(Band, AStopSilencesTheReverbAndChorusTailsToo) {
  absl::StatusOr<std::unique_ptr<Synth>> synth =
      Synth::create({.reverb = {.room_size = 0.9, .level = 1.0}, .chorus = {.level = 1.0}});
  ASSERT_TRUE(synth.ok()) << synth.status();
  Scheduler sched({.sample_rate_hz = kRate, .ticks_per_quarter = 480});
  sched.note_on(0, 0, 60, 120);
  Band band(sched, **synth);
  constexpr uint32_t kPeriod = 256;
  std::vector<float> left(kPeriod), right(kPeriod);
  ProcessBlock block;
  block.n_frames = kPeriod;
  block.audio_out[0] = left;
  block.audio_out[1] = right;
  uint64_t first = 0;
  for (; first < kRate / 2; first += kPeriod) {  // half a second of the note and its room
    block.first_frame = first;
    band.process(block);
  }
  EXPECT_GT(std::fabs(left[0]) + std::fabs(right[0]), 1e-4f);
  sched.stop();
  for (int period = 0; period < 20; ++period, first += kPeriod) {
    block.first_frame = first;
    band.process(block);
    if (period == 0) continue;  // the period the stop lands in
    for (uint32_t i = 0; i < kPeriod; ++i) {
      ASSERT_EQ(left[i], 0.0f) << "period " << period << " frame " << i;
      ASSERT_EQ(right[i], 0.0f) << "period " << period << " frame " << i;
    }
  }
}

}  // namespace
}  // namespace jamd::realtime
