// The conductor's modes on the bundled model, offline: auto switches between accompanying and
// continuing within a bar of the musician stopping or starting; call and response keeps the lead
// out of the musician's phrases; accompanying leaves the musician's register and thins out when
// they play densely (against the same jam without that room: the same generated notes).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "daemon/conductor/offline_jam.h"
#include "realtime/midi/midi_file.h"

namespace jamd {
namespace {

constexpr int kTpq = 480;
constexpr int kBar = 4 * kTpq;

// A take at 100 BPM: in every bar where plays(bar), the notes notes_for(bar) adds.
struct Note {
  int64_t tick;
  int64_t length;
  int pitch;
};
std::string write_take(const std::string& name, int bars,
                       const std::function<void(int bar, std::vector<Note>&)>& notes_for) {
  realtime::MidiFile midi;
  midi.format = 0;
  midi.ticks_per_quarter = kTpq;
  realtime::MidiTrack track;
  track.events.push_back({0, 0xFF, realtime::kMetaTempo, {0x09, 0x27, 0xC0}});  // 100 BPM
  track.events.push_back({0, 0xFF, realtime::kMetaTimeSignature, {4, 2, 24, 8}});
  std::vector<Note> notes;
  for (int bar = 0; bar < bars; ++bar) notes_for(bar, notes);
  for (const Note& n : notes) {
    track.events.push_back(
        {static_cast<uint64_t>(n.tick), 0x90, 0, {static_cast<uint8_t>(n.pitch), 90}});
    track.events.push_back(
        {static_cast<uint64_t>(n.tick + n.length), 0x80, 0, {static_cast<uint8_t>(n.pitch), 0}});
  }
  std::stable_sort(
      track.events.begin(), track.events.end(),
      [](const realtime::MidiEvent& a, const realtime::MidiEvent& b) { return a.tick < b.tick; });
  track.end_tick = static_cast<uint64_t>(bars * kBar);
  midi.tracks.push_back(std::move(track));
  const std::string path = (std::filesystem::path(::testing::TempDir()) / name).string();
  EXPECT_TRUE(realtime::write_midi_file(path, midi).ok());
  return path;
}

// Triads on every beat (C, F, G, C by bar).
void triads(int bar, std::vector<Note>& out) {
  const int roots[] = {0, 5, 7, 0};
  const int root = roots[bar % 4];
  for (int beat = 0; beat < 4; ++beat) {
    for (int p : {60 + root, 64 + root, 67 + root}) {
      out.push_back({int64_t{bar} * kBar + beat * kTpq, kTpq * 9 / 10, p});
    }
  }
}

OfflineJamOptions options(const std::string& input, JamMode mode) {
  OfflineJamOptions o;
  o.input_path = input;
  o.model_path = JAMD_SOURCE_DIR "/models/band.jamd";
  o.state.seed = 3;
  o.state.key_tonic = -1;
  o.state.density = 0.6f;
  o.state.mode = mode;
  o.state.parts[kPartPad].enabled = false;
  return o;
}

OfflineJamResult render(const OfflineJamOptions& o) {
  absl::StatusOr<OfflineJamResult> r = render_jam(o);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : OfflineJamResult{};
}

TEST(ModesTest, AutoSwitchesWithinABarWhenTheMusicianStopsAndStarts) {
  // Plays bars 0-2, rests 3-5, plays 6-7.
  const std::string take = write_take("auto.mid", 8, [](int bar, std::vector<Note>& out) {
    if (bar < 3 || bar >= 6) triads(bar, out);
  });
  const OfflineJamResult r = render(options(take, JamMode::kAuto));
  const int64_t last_note_end = 3 * kBar - kTpq + kTpq * 9 / 10;
  bool stopped = false, restarted = false;
  for (const auto& [tick, accompanying] : r.record.mode_switches) {
    std::printf("  [auto] tick %lld (bar %.2f): %s\n", static_cast<long long>(tick),
                static_cast<double>(tick) / kBar, accompanying ? "accompany" : "continue");
    if (!accompanying && tick > last_note_end) {
      stopped = true;
      EXPECT_LE(tick - last_note_end, kBar) << "continues within a bar of the last note";
    }
    if (accompanying && tick >= 6 * kBar - kTpq / 4) {  // heard a few ticks early: rounding
      restarted = true;
      EXPECT_LT(tick - 6 * kBar, kBar) << "accompanies within a bar of the musician's return";
    }
  }
  EXPECT_TRUE(stopped);
  EXPECT_TRUE(restarted);
}

// Share of the lead's onsets in bars where the musician rests.
double lead_share_in_rests(const OfflineJamResult& r, const std::function<bool(int)>& plays,
                           int* n_lead) {
  int in_rest = 0;
  *n_lead = 0;
  for (const TimedNote& n : r.record.band_notes) {
    if (n.part != kPartLead) continue;
    ++*n_lead;
    in_rest += !plays(static_cast<int>(n.tick / kBar));
  }
  return *n_lead ? static_cast<double>(in_rest) / *n_lead : 0.0;
}

TEST(ModesTest, CallAndResponseLeadAnswersInTheMusiciansRests) {
  // Two-bar phrases with two-bar rests.
  const auto plays = [](int bar) { return bar % 4 < 2; };
  const std::string take = write_take("phrases.mid", 12, [&](int bar, std::vector<Note>& out) {
    if (plays(bar)) triads(bar, out);
  });
  int n_response = 0, n_control = 0;
  const double response =
      lead_share_in_rests(render(options(take, JamMode::kCallAndResponse)), plays, &n_response);
  const double control =
      lead_share_in_rests(render(options(take, JamMode::kAccompany)), plays, &n_control);
  std::printf(
      "  [call and response] lead onsets in the musician's rests: %.2f of %d (accompany: "
      "%.2f of %d)\n",
      response, n_response, control, n_control);
  ASSERT_GT(n_response, 4);
  EXPECT_GE(response, 0.8);
  EXPECT_GT(response, control);
}

TEST(ModesTest, AccompanyLeavesTheRegisterAndThinsOutUnderDensePlaying) {
  // Running sixteenths between E4 and C5 (64-72), four a beat, every bar.
  const std::string take = write_take("dense.mid", 8, [](int bar, std::vector<Note>& out) {
    const int scale[] = {64, 65, 67, 69, 71, 72, 71, 69, 67, 65};
    for (int i = 0; i < 16; ++i)
      out.push_back({int64_t{bar} * kBar + i * kTpq / 4, kTpq / 4, scale[(bar * 16 + i) % 10]});
  });
  OfflineJamOptions o = options(take, JamMode::kAccompany);
  o.state.parts[kPartPad].enabled = true;
  const OfflineJamResult room = render(o);
  o.accompany.leave_register = false;
  o.accompany.thin_when_dense = false;
  const OfflineJamResult no_room = render(o);
  const auto count = [](const OfflineJamResult& r, int* upper, int* in_register, int* off_beat) {
    *upper = *in_register = *off_beat = 0;
    for (const TimedNote& n : r.record.band_notes) {
      if (n.tick < kBar || (n.part != kPartKeys && n.part != kPartPad && n.part != kPartLead)) {
        continue;
      }
      ++*upper;
      *in_register += n.pitch >= 64 && n.pitch <= 72;
      *off_beat += n.tick % kTpq != 0;
    }
  };
  int upper[2], in_register[2], off_beat[2];
  count(room, &upper[0], &in_register[0], &off_beat[0]);
  count(no_room, &upper[1], &in_register[1], &off_beat[1]);
  std::printf(
      "  [room] keys/pad/lead from bar 1: %d notes, %d in the musician's register, %d off "
      "the beat (without room: %d, %d, %d); %lld left out\n",
      upper[0], in_register[0], off_beat[0], upper[1], in_register[1], off_beat[1],
      static_cast<long long>(room.record.notes_left_out));
  ASSERT_GT(upper[1], 8) << "the control must play upper parts for the comparison to mean anything";
  EXPECT_GT(in_register[1], 0);
  // A few notes get through at the edges (committed before the musician's notes were heard).
  EXPECT_LE(in_register[0] * 10, in_register[1]);
  EXPECT_LE(off_beat[0] * 4, off_beat[1]);
  EXPECT_LT(upper[0], upper[1]);
}

}  // namespace
}  // namespace jamd
