// A stop shorter than the commit horizon: the band resumes at the playhead, playing the notes it
// had already posted before the stop (the stop dropped them), not a horizon later. The test is
// the RT thread itself: it services the conductor and runs the scheduler period by period on a
// virtual clock, and compares what comes out with the same jam never stopped.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <ostream>
#include <utility>
#include <vector>

#include "daemon/conductor/conductor.h"

namespace jamd {
namespace {

constexpr uint32_t kRate = 48000;
constexpr uint32_t kPeriod = 256;
constexpr double kTempoBpm = 120.0;
constexpr int64_t kBarFrames = 2 * kRate;  // 4/4 at 120 BPM

struct NoteOn {
  int64_t frame = 0;
  int channel = 0;
  int pitch = 0;
  bool operator==(const NoteOn&) const = default;
};
void PrintTo(const NoteOn& n, std::ostream* os) {
  *os << "{frame " << n.frame << ", channel " << n.channel << ", pitch " << n.pitch << "}";
}

JamState band_state() {
  JamState s;
  s.tempo_bpm = kTempoBpm;
  s.key_tonic = 0;
  s.density = 0.6f;
  s.mode = JamMode::kContinue;
  s.seed = 5;
  s.parts[kPartPad].enabled = false;
  s.parts[kPartLead].enabled = false;
  return s;
}

// Three bars of the band; `stop` (stop frame, resume frame) posts a stop and a resume before the
// periods that contain them. The note-ons the scheduler hands out, in frames.
std::vector<NoteOn> play(std::optional<std::pair<int64_t, int64_t>> stop) {
  realtime::Scheduler scheduler({.sample_rate_hz = kRate,
                                 .ticks_per_quarter = 480,
                                 .tempo_bpm = kTempoBpm,
                                 .max_events = 65536});
  auto conductor = Conductor::create({.model_path = JAMD_SOURCE_DIR "/models/band.jamd",
                                      .precision = models::Precision::kFloat32});
  EXPECT_TRUE(conductor.ok()) << conductor.status();
  if (!conductor.ok()) return {};
  const JamState state = band_state();
  (*conductor)->add_jam(1, state, scheduler, {.sample_rate_hz = kRate, .tempo_bpm = kTempoBpm});
  std::vector<NoteOn> out;
  bool stopped = false, resumed = false;
  for (int64_t frame = 0; frame < 3 * kBarFrames; frame += kPeriod) {
    const int64_t period_end = frame + kPeriod;
    if (stop && !stopped && period_end > stop->first) {
      JamState paused = state;
      paused.playing = false;
      (*conductor)->post_state(1, paused);
      stopped = true;
    }
    if (stop && !resumed && period_end > stop->second) {
      (*conductor)->post_state(1, state);
      resumed = true;
    }
    EXPECT_TRUE((*conductor)->service().ok());
    scheduler.begin_period(static_cast<uint64_t>(frame), kPeriod);
    realtime::MidiMessage m;
    while (scheduler.next_event(m)) {
      if ((m.bytes[0] & 0xF0) == 0x90 && m.bytes[2] > 0) {
        out.push_back({frame + m.frame, m.bytes[0] & 0x0F, m.bytes[1]});
      }
    }
    scheduler.end_period();
  }
  return out;
}

TEST(StopResumeTest, AStopShorterThanTheCommitHorizonResumesAtThePlayhead) {
  const double horizon_ms = Horizons{}.commit_horizon_ms;
  const std::vector<NoteOn> never_stopped = play(std::nullopt);
  // The first note of bar 1 at least a period after its bar line (so the stop falls in bar 1).
  const auto first = std::find_if(never_stopped.begin(), never_stopped.end(), [](const NoteOn& n) {
    return n.frame >= kBarFrames + 4 * kPeriod;
  });
  ASSERT_NE(first, never_stopped.end());
  // Stopped when the note is already posted (inside the horizon), resumed before it is due.
  const auto horizon_frames = static_cast<int64_t>(horizon_ms / 1000.0 * kRate);
  const int64_t stop_frame = first->frame - horizon_frames * 2 / 3;
  const int64_t resume_frame = first->frame - horizon_frames / 3;
  ASSERT_GT(resume_frame - stop_frame, int64_t{kPeriod});
  const std::vector<NoteOn> stopped = play(std::make_pair(stop_frame, resume_frame));

  // Up to the stop the two jams are the same; nothing sounds while stopped; from the resume on
  // the band plays what it would have played, the note at once included.
  const auto before = [&](const std::vector<NoteOn>& v, int64_t from, int64_t until) {
    std::vector<NoteOn> r;
    for (const NoteOn& n : v) {
      if (n.frame >= from && n.frame < until) r.push_back(n);
    }
    return r;
  };
  const int64_t stop_period = stop_frame / kPeriod * kPeriod;
  const int64_t resume_period = (resume_frame / kPeriod + 1) * kPeriod;
  EXPECT_EQ(before(stopped, 0, stop_period), before(never_stopped, 0, stop_period));
  EXPECT_TRUE(before(stopped, stop_period + kPeriod, resume_period).empty());
  const std::vector<NoteOn> after = before(stopped, resume_period, 3 * kBarFrames);
  EXPECT_TRUE(std::find(after.begin(), after.end(), *first) != after.end())
      << "the note at frame " << first->frame << " (posted before the stop) never sounded";
  EXPECT_EQ(after, before(never_stopped, resume_period, 3 * kBarFrames));
}

}  // namespace
}  // namespace jamd
