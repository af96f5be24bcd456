// Continue through the musician's rest: a musician who established a loop and stops is not left
// to the model's own harmony; the band keeps playing the loop's chords for as long as the rest
// lasts, so that it is on the loop when the musician comes back in. Without a loop the model
// chooses, and a key set by hand during the rest drops the loop (its chords are the old key's).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "daemon/conductor/offline_jam.h"
#include "realtime/midi/midi_file.h"

namespace jamd {
namespace {

constexpr int kTpq = 480;
constexpr int kBar = 4 * kTpq;

struct BarChord {
  int root = 0;
  bool minor = false;
};

// C G Am F: one chord a bar.
const std::vector<BarChord> kLoop = {{0, false}, {7, false}, {9, true}, {5, false}};

// A keyboard player at 120 BPM: the bar's triad on every beat where chords[bar] has one, silence
// where it has none.
std::string write_take(const std::string& name, const std::vector<std::optional<BarChord>>& bars) {
  realtime::MidiFile midi;
  midi.format = 0;
  midi.ticks_per_quarter = kTpq;
  realtime::MidiTrack track;
  track.events.push_back({0, 0xFF, realtime::kMetaTempo, {0x07, 0xA1, 0x20}});  // 120 BPM
  track.events.push_back({0, 0xFF, realtime::kMetaTimeSignature, {4, 2, 24, 8}});
  for (size_t bar = 0; bar < bars.size(); ++bar) {
    if (!bars[bar]) continue;
    const BarChord c = *bars[bar];
    const int pitches[3] = {60 + c.root, 60 + c.root + (c.minor ? 3 : 4), 60 + c.root + 7};
    for (int beat = 0; beat < 4; ++beat) {
      const auto on = static_cast<uint64_t>(bar * kBar + beat * kTpq);
      for (int p : pitches) track.events.push_back({on, 0x90, 0, {static_cast<uint8_t>(p), 90}});
      for (int p : pitches) {
        track.events.push_back({on + kTpq * 9 / 10, 0x80, 0, {static_cast<uint8_t>(p), 0}});
      }
    }
  }
  track.end_tick = static_cast<uint64_t>(bars.size() * kBar);
  midi.tracks.push_back(std::move(track));
  const std::string path = (std::filesystem::path(::testing::TempDir()) / name).string();
  EXPECT_TRUE(realtime::write_midi_file(path, midi).ok());
  return path;
}

// `play` bars of the loop from bar 0, `rest` silent bars, then `back` bars of the loop again
// (from its first chord, where the loop would be).
std::vector<std::optional<BarChord>> loop_take(int play, int rest, int back) {
  std::vector<std::optional<BarChord>> bars;
  for (int bar = 0; bar < play + rest + back; ++bar) {
    if (bar < play || bar >= play + rest) {
      bars.push_back(kLoop[static_cast<size_t>(bar) % kLoop.size()]);
    } else {
      bars.push_back(std::nullopt);
    }
  }
  return bars;
}

OfflineJamOptions options(const std::string& input) {
  OfflineJamOptions o;
  o.input_path = input;
  o.model_path = JAMD_SOURCE_DIR "/models/band.jamd";
  o.state.seed = 5;
  o.state.tempo_bpm = 120.0;  // the take's (steering posts the whole state)
  o.state.key_tonic = -1;
  o.state.density = 0.5f;
  o.state.mode = JamMode::kAuto;
  o.state.parts[kPartPad].enabled = false;
  o.state.parts[kPartLead].enabled = false;
  o.horizons.commit_horizon_ms = 50;
  return o;
}

OfflineJamResult render(const OfflineJamOptions& o) {
  absl::StatusOr<OfflineJamResult> r = render_jam(o);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : OfflineJamResult{};
}

// Share of the band's bass and keys notes in bars [first, last) on a tone of `chord_of(bar)`.
struct ToneShare {
  double bass = 0, keys = 0;
  int n_bass = 0, n_keys = 0;
};
template <typename ChordOf>
ToneShare tone_share(const OfflineJamResult& r, int first, int last, ChordOf chord_of) {
  ToneShare out;
  int in_bass = 0, in_keys = 0;
  for (const TimedNote& n : r.record.band_notes) {
    const auto bar = static_cast<int>(n.tick / kBar);
    if (bar < first || bar >= last || (n.part != kPartBass && n.part != kPartKeys)) continue;
    const BarChord c = chord_of(bar);
    const int interval = ((n.pitch - c.root) % 12 + 12) % 12;
    const bool tone = interval == 0 || interval == 7 || interval == (c.minor ? 3 : 4);
    (n.part == kPartBass ? in_bass : in_keys) += tone;
    ++(n.part == kPartBass ? out.n_bass : out.n_keys);
  }
  out.bass = out.n_bass ? static_cast<double>(in_bass) / out.n_bass : 0;
  out.keys = out.n_keys ? static_cast<double>(in_keys) / out.n_keys : 0;
  return out;
}

BarChord loop_chord(int bar) { return kLoop[static_cast<size_t>(bar) % kLoop.size()]; }

TEST(ContinueLoopTest, TheBandKeepsTheLoopThroughTheMusiciansRest) {
  // C G Am F twice, two loops of rest (bars 8-15), then the loop again from bar 16.
  const OfflineJamResult r = render(options(write_take("rest_loop.mid", loop_take(8, 8, 4))));
  const std::map<int64_t, int>& continued = r.record.continued_bars;
  for (int64_t bar = 9; bar < 16; ++bar) {
    ASSERT_TRUE(continued.contains(bar)) << "bar " << bar << " (the musician rests)";
    EXPECT_EQ(continued.at(bar), 4) << "bar " << bar;
  }
  for (int64_t bar = 0; bar < 8; ++bar) EXPECT_FALSE(continued.contains(bar)) << "bar " << bar;
  // From bar 9: bar 8's first beat was posted before the rest was known.
  const ToneShare rest = tone_share(r, 9, 16, loop_chord);
  // The musician's first bar back: the band planned it with the loop's chord before hearing it.
  const ToneShare back = tone_share(r, 16, 17, loop_chord);
  std::printf(
      "  [rest] bars 9-15 on the loop's chord tones: bass %.3f (%d notes), keys %.3f (%d); "
      "bar 16 (back): %.3f / %.3f; a random pitch hits a triad 0.25 of the time\n",
      rest.bass, rest.n_bass, rest.keys, rest.n_keys, back.bass, back.keys);
  ASSERT_GT(rest.n_bass, 7);
  ASSERT_GT(rest.n_keys, 7);
  EXPECT_GT(rest.bass, 0.8);
  EXPECT_GT(rest.keys, 0.8);
  EXPECT_GT(back.bass, 0.8);
  EXPECT_GT(back.keys, 0.8);
}

TEST(ContinueLoopTest, AFourBarPhraseHeardOnceIsContinued) {
  // C G Am F once, then four bars of rest: a phrase of 4 bars is taken as the loop.
  const OfflineJamResult r = render(options(write_take("once_loop.mid", loop_take(4, 4, 0))));
  for (int64_t bar = 5; bar < 8; ++bar) {
    ASSERT_TRUE(r.record.continued_bars.contains(bar)) << "bar " << bar;
    EXPECT_EQ(r.record.continued_bars.at(bar), 4) << "bar " << bar;
  }
  const ToneShare rest = tone_share(r, 5, 8, loop_chord);
  std::printf("  [once] bars 5-7 on the loop's chord tones: bass %.3f (%d), keys %.3f (%d)\n",
              rest.bass, rest.n_bass, rest.keys, rest.n_keys);
  EXPECT_GT(rest.bass, 0.8);
  EXPECT_GT(rest.keys, 0.8);
}

TEST(ContinueLoopTest, WithoutALoopTheModelChoosesTheChords) {
  // C G Am: three bars, no repeat and no phrase length: no loop to keep.
  const OfflineJamResult r = render(options(write_take("no_loop.mid", loop_take(3, 5, 0))));
  EXPECT_TRUE(r.record.continued_bars.empty());
  int band_notes_in_rest = 0;
  for (const TimedNote& n : r.record.band_notes) band_notes_in_rest += n.tick >= 4 * kBar;
  EXPECT_GT(band_notes_in_rest, 8) << "the band keeps playing";
}

TEST(ContinueLoopTest, AKeySetByHandDuringTheRestDropsTheLoop) {
  OfflineJamOptions o = options(write_take("key_drop.mid", loop_take(8, 8, 0)));
  JamState d_major = o.state;
  d_major.key_tonic = 2;
  o.steering.push_back({11, d_major});
  const OfflineJamResult r = render(o);
  const std::map<int64_t, int>& continued = r.record.continued_bars;
  EXPECT_TRUE(continued.contains(10));
  // Bar 12 may have been given the loop's chords in the round before the steering was applied.
  EXPECT_FALSE(continued.contains(13)) << "no loop after the key was set by hand";
  // The band plays in D major after the change: C and F (naturals) are the old loop's tones,
  // not D major's.
  int in_scale = 0, n = 0;
  for (const TimedNote& note : r.record.band_notes) {
    if (note.tick < 13 * kBar || (note.part != kPartBass && note.part != kPartKeys)) continue;
    const int pc = note.pitch % 12;
    in_scale += pc == 2 || pc == 4 || pc == 6 || pc == 7 || pc == 9 || pc == 11 || pc == 1;
    ++n;
  }
  std::printf("  [key] bars 13-15: %d of %d bass and keys notes in D major\n", in_scale, n);
  ASSERT_GT(n, 8);
  EXPECT_GT(in_scale, n * 8 / 10);
}

TEST(ContinueLoopTest, ContinueModeSetByHandDuringTheRestDropsTheLoop) {
  OfflineJamOptions o = options(write_take("mode_drop.mid", loop_take(8, 8, 0)));
  JamState continue_mode = o.state;
  continue_mode.mode = JamMode::kContinue;
  o.steering.push_back({11, continue_mode});
  const OfflineJamResult r = render(o);
  EXPECT_TRUE(r.record.continued_bars.contains(10));
  EXPECT_FALSE(r.record.continued_bars.contains(13)) << "the model's chords in continue mode";
}

}  // namespace
}  // namespace jamd
