// The band keeps the musician's time: offline jams on the bundled model whose musician plays at
// a steady tempo other than the jam's steered one, or speeds up, and the band's onsets on beats
// must land on the musician's beats; a steered tempo change ramps over beats, on beat boundaries.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "daemon/conductor/offline_jam.h"
#include "realtime/core/song.h"
#include "realtime/core/tempo_map.h"
#include "realtime/midi/midi_file.h"

namespace jamd {
namespace {

constexpr int kTpq = 480;
constexpr uint32_t kRate = 48000;

void add_tempo(realtime::MidiTrack& track, uint64_t tick, double bpm) {
  const auto us = static_cast<uint32_t>(60'000'000.0 / bpm + 0.5);
  track.events.push_back(
      {tick,
       0xFF,
       realtime::kMetaTempo,
       {static_cast<uint8_t>(us >> 16), static_cast<uint8_t>(us >> 8), static_cast<uint8_t>(us)}});
}

// C F G C triads on every beat for `bars` bars; the tempo goes from `from_bpm` to `to_bpm`
// linearly, beat by beat. Returns the file's path.
std::string write_take(const std::string& name, double from_bpm, double to_bpm, int bars) {
  realtime::MidiFile midi;
  midi.format = 0;
  midi.ticks_per_quarter = kTpq;
  realtime::MidiTrack track;
  track.events.push_back({0, 0xFF, realtime::kMetaTimeSignature, {4, 2, 24, 8}});
  const int roots[] = {0, 5, 7, 0};
  const int beats = bars * 4;
  for (int b = 0; b < beats; ++b) {
    const auto on = static_cast<uint64_t>(b * kTpq);
    add_tempo(track, on, from_bpm + (to_bpm - from_bpm) * b / std::max(1, beats - 1));
    const int root = roots[(b / 4) % 4];
    for (int p : {60 + root, 64 + root, 67 + root}) {
      track.events.push_back({on, 0x90, 0, {static_cast<uint8_t>(p), 90}});
    }
    for (int p : {60 + root, 64 + root, 67 + root}) {
      track.events.push_back({on + kTpq * 8 / 10, 0x80, 0, {static_cast<uint8_t>(p), 0}});
    }
  }
  track.end_tick = static_cast<uint64_t>(beats * kTpq);
  midi.tracks.push_back(std::move(track));
  const std::string path = (std::filesystem::path(::testing::TempDir()) / name).string();
  EXPECT_TRUE(realtime::write_midi_file(path, midi).ok());
  return path;
}

OfflineJamOptions options(const std::string& input) {
  OfflineJamOptions o;
  o.input_path = input;
  o.model_path = JAMD_SOURCE_DIR "/models/band.jamd";
  o.state.seed = 5;
  o.state.key_tonic = -1;
  o.state.density = 0.6f;
  o.state.mode = JamMode::kAccompany;
  o.state.parts[kPartPad].enabled = false;
  o.state.parts[kPartLead].enabled = false;
  return o;
}

// The jam's tempo map as the conductor changed it.
realtime::TempoMap jam_map(const OfflineJamResult& r) {
  realtime::TempoMap map(r.sample_rate_hz, kTpq, r.tempo_bpm, {r.beats_per_bar, 4});
  for (const auto& [tick, bpm] : r.record.tempo_changes) map.set_tempo(tick, bpm);
  return map;
}

// |band onset - nearest musician beat| in ms, for the band's notes on beats in bars >= from_bar.
std::vector<double> beat_errors_ms(const OfflineJamResult& r, const std::string& take,
                                   int from_bar) {
  absl::StatusOr<realtime::MidiFile> file = realtime::read_midi_file(take);
  EXPECT_TRUE(file.ok());
  absl::StatusOr<realtime::Song> song = realtime::song_from_midi(*file);
  EXPECT_TRUE(song.ok());
  const realtime::TempoMap musician = song->tempo_map(kRate);
  std::vector<int64_t> beats;
  for (int64_t t = 0; t <= r.bars * 4 * kTpq + 8 * kTpq; t += kTpq)
    beats.push_back(musician.frame_at(t));
  const realtime::TempoMap band = jam_map(r);
  std::vector<double> errors;
  for (const TimedNote& n : r.record.band_notes) {
    if (n.tick % kTpq != 0 || n.tick < from_bar * 4 * kTpq) continue;
    const int64_t f = band.frame_at(n.tick);
    const auto it = std::lower_bound(beats.begin(), beats.end(), f);
    int64_t best = INT64_MAX;
    if (it != beats.end()) best = *it - f;
    if (it != beats.begin() && std::abs(*std::prev(it) - f) < std::abs(best))
      best = *std::prev(it) - f;
    errors.push_back(1000.0 * static_cast<double>(std::abs(best)) / kRate);
  }
  return errors;
}

double share_within(const std::vector<double>& errors, double ms) {
  if (errors.empty()) return 0.0;
  return static_cast<double>(
             std::count_if(errors.begin(), errors.end(), [ms](double e) { return e <= ms; })) /
         static_cast<double>(errors.size());
}

void expect_on_the_musicians_beats(const std::string& what, const std::string& take, int from_bar) {
  OfflineJamOptions o = options(take);
  o.follow_tempo = true;
  absl::StatusOr<OfflineJamResult> r = render_jam(o);
  ASSERT_TRUE(r.ok()) << r.status();
  const std::vector<double> errors = beat_errors_ms(*r, take, from_bar);
  const double last_bpm =
      r->record.tempo_changes.empty() ? r->tempo_bpm : r->record.tempo_changes.back().second;
  std::printf(
      "  [%s] %zu band onsets on beats from bar %d: %.2f within 30 ms of the musician's "
      "beats; %zu tempo changes, last %.1f BPM\n",
      what.c_str(), errors.size(), from_bar, share_within(errors, 30.0),
      r->record.tempo_changes.size(), last_bpm);
  ASSERT_GT(errors.size(), 8u);
  std::vector<double> sorted = errors;
  std::sort(sorted.begin(), sorted.end());
  std::printf("  [%s] error ms: median %.1f, p90 %.1f\n", what.c_str(), sorted[sorted.size() / 2],
              sorted[sorted.size() * 9 / 10]);
  EXPECT_GE(share_within(errors, 30.0), 0.8);
}

TEST(TempoFollowTest, BandTakesASteadyTempoOtherThanTheSteeredOne) {
  // The jam is steered at 100 BPM (JamState's default); the musician plays at 84.
  expect_on_the_musicians_beats("steady 84", write_take("steady84.mid", 84.0, 84.0, 8), 3);
}

TEST(TempoFollowTest, BandFollowsATempoRamp) {
  expect_on_the_musicians_beats("ramp 90-112", write_take("ramp.mid", 90.0, 112.0, 10), 3);
}

TEST(TempoFollowTest, WithoutFollowingTheBandDriftsOffTheBeats) {
  // The control for the two above: the same take, the band held at the steered 100 BPM.
  const std::string take = write_take("steady84_control.mid", 84.0, 84.0, 8);
  OfflineJamOptions o = options(take);
  o.follow_tempo = true;
  o.tempo.follow_heard = false;
  absl::StatusOr<OfflineJamResult> r = render_jam(o);
  ASSERT_TRUE(r.ok()) << r.status();
  const std::vector<double> errors = beat_errors_ms(*r, take, 3);
  std::printf("  [not following] %.2f within 30 ms\n", share_within(errors, 30.0));
  EXPECT_LT(share_within(errors, 30.0), 0.5);
}

TEST(TempoFollowTest, SteeredTempoRampsOverBeatsOnBeatBoundaries) {
  OfflineJamOptions o = options("");
  o.state.mode = JamMode::kContinue;
  o.bars = 5;
  o.tempo.ramp_beats = 4;
  JamState faster = o.state;
  faster.tempo_bpm = 120.0;
  o.steering.push_back({2, faster});
  absl::StatusOr<OfflineJamResult> r = render_jam(o);
  ASSERT_TRUE(r.ok()) << r.status();
  const auto& changes = r->record.tempo_changes;
  ASSERT_EQ(changes.size(), 4u);
  for (size_t i = 0; i < changes.size(); ++i) {
    EXPECT_EQ(changes[i].first % kTpq, 0) << "a tempo change off a beat boundary";
    if (i > 0) {
      EXPECT_EQ(changes[i].first - changes[i - 1].first, kTpq) << "one step a beat";
      EXPECT_GT(changes[i].second, changes[i - 1].second);
    }
  }
  EXPECT_GT(changes.front().second, 100.0);
  EXPECT_LT(changes.front().second, 110.0);  // a ramp, not a jump
  EXPECT_DOUBLE_EQ(changes.back().second, 120.0);
  EXPECT_GE(changes.front().first, 2 * 4 * kTpq);
}

}  // namespace
}  // namespace jamd
