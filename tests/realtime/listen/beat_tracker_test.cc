// The causal beat tracker on synthetic onset-strength signals with known beats.
#include "realtime/listen/beat_tracker.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace jamd::realtime {
namespace {

constexpr double kFrameRate = 22050.0 / 256;

// Impulses at the given beat period, with optional weaker off-beats (eighths).
std::vector<TrackedBeat> run(double tempo_bpm, double seconds, float offbeat, double end_bpm = 0,
                             double silence_from_s = -1) {
  BeatTracker t({.frame_rate_hz = kFrameRate});
  std::vector<TrackedBeat> beats;
  double next = 10, bpm = tempo_bpm;
  bool half = false;
  const int n = static_cast<int>(seconds * kFrameRate);
  for (int i = 0; i < n; ++i) {
    float s = 0.01f;
    if (i >= static_cast<int>(next)) {
      s = half ? offbeat : 1.0f;
      if (end_bpm > 0) bpm = tempo_bpm + (end_bpm - tempo_bpm) * i / n;
      next += 60.0 * kFrameRate / bpm / 2;
      half = !half;
    }
    if (silence_from_s >= 0 && i > silence_from_s * kFrameRate) s = 0;
    t.push(s);
    for (const TrackedBeat& b : t.take_beats()) beats.push_back(b);
  }
  return beats;
}

TEST(BeatTracker, LocksOntoASteadyPulseWithTheRightTempo) {
  const std::vector<TrackedBeat> beats = run(120, 20, 0.0f);
  ASSERT_GT(beats.size(), 30u);
  const TrackedBeat& b = beats.back();
  EXPECT_NEAR(b.tempo_bpm, 120.0, 1.0);
  // On the impulses: every beat falls on a multiple of the period after frame 10.
  const double period = 60.0 * kFrameRate / 120;
  const double phase = std::fmod(b.frame - 10, period);
  EXPECT_LT(std::min(phase, period - phase), 1.5);
}

TEST(BeatTracker, AccentedEighthsCountTheSlowerBeat) {
  // Eighths at 160 per minute with strong on-beats: the beat is 80 BPM, not 160.
  const std::vector<TrackedBeat> beats = run(80, 25, 0.3f);
  ASSERT_FALSE(beats.empty());
  EXPECT_NEAR(beats.back().tempo_bpm, 80.0, 1.6);
}

// A stream of eighths (strengths repeating `accents`) whose harmony changes every
// `chord_eighths` eighths: harmonic change rises and falls over 0.6 s after each change, as the
// listener's does.
constexpr double kHalfChordChange = 0.5;

std::vector<TrackedBeat> run_eighths(double eighths_bpm, double seconds,
                                     const std::vector<float>& accents, int chord_eighths) {
  BeatTracker t({.frame_rate_hz = kFrameRate});
  std::vector<TrackedBeat> beats;
  const double eighth = 60.0 * kFrameRate / eighths_bpm;
  const double rise = 0.3 * kFrameRate;
  for (int i = 0; i < static_cast<int>(seconds * kFrameRate); ++i) {
    const double k = (i - 10) / eighth;  // eighths since the first
    float s = 0.01f;
    if (k >= 0 && k - std::floor(k) < 1.0 / eighth) {
      s = accents[static_cast<size_t>(std::lround(std::floor(k))) % accents.size()];
    }
    // The arpeggio's own pattern changes the pitch content half-way through each chord too,
    // less than a chord change does.
    const double chord = chord_eighths * eighth;
    const double t_chord = std::fmod(std::max(0.0, i - 10.0), chord);
    const double since_half = std::fmod(t_chord, chord / 2);
    const double weight = t_chord < chord / 2 ? 1.0 : kHalfChordChange;
    const float h =
        static_cast<float>(weight * std::max(0.0, 1.0 - std::abs(since_half - rise) / rise));
    t.push(s, h);
    for (const TrackedBeat& b : t.take_beats()) beats.push_back(b);
  }
  return beats;
}

TEST(BeatTracker, ArpeggioWithChordsEveryEightEighthsCountsTheSlowerBeat) {
  // Eighths at 140 per minute, the on-beats louder except on every fourth beat (an arpeggio
  // whose bass falls on the offbeat there): accents alone leave the level open. A chord a bar
  // at 70 BPM is a chord every eight eighths: the beat is 70 BPM, from the lock to the end.
  const std::vector<float> accents = {1.0f, 0.5f, 1.0f, 0.5f, 1.0f, 0.5f, 0.6f, 0.9f};
  const std::vector<TrackedBeat> beats = run_eighths(140, 30, accents, 8);
  ASSERT_GT(beats.size(), 20u);
  for (const TrackedBeat& b : beats) {
    EXPECT_NEAR(b.tempo_bpm, 70.0, 1.4) << "beat " << b.index << " at frame " << b.frame;
  }
}

TEST(BeatTracker, TheSameEighthsWithChordsEveryFourStayFast) {
  // The same stream with a chord every four eighths: a chord every two beats at 70 or every
  // four at 140; the faster level (the family's default) wins once the harmony is heard.
  const std::vector<float> accents = {1.0f, 0.5f, 1.0f, 0.5f, 1.0f, 0.5f, 0.6f, 0.9f};
  const std::vector<TrackedBeat> beats = run_eighths(140, 30, accents, 4);
  ASSERT_FALSE(beats.empty());
  EXPECT_NEAR(beats.back().tempo_bpm, 140.0, 2.8);
}

TEST(BeatTracker, FollowsATempoRamp) {
  const std::vector<TrackedBeat> beats = run(90, 40, 0.0f, 130);
  ASSERT_FALSE(beats.empty());
  EXPECT_NEAR(beats.back().tempo_bpm, 130.0, 130 * 0.04);
}

TEST(BeatTracker, SilenceGivesNoBeatsAndLosesThePulse) {
  BeatTracker t({.frame_rate_hz = kFrameRate});
  for (int i = 0; i < 20 * kFrameRate; ++i) t.push(0.0f);
  EXPECT_TRUE(t.take_beats().empty());
  EXPECT_FALSE(t.locked());
  const std::vector<TrackedBeat> before = run(120, 20, 0.0f, 0, 6);
  ASSERT_FALSE(before.empty());
  // Beats stop within max_missed_beats after the pulse stops at 6 s.
  EXPECT_LT(before.back().frame, (6.0 + 8 * 0.5 + 0.5) * kFrameRate);
}

}  // namespace
}  // namespace jamd::realtime
