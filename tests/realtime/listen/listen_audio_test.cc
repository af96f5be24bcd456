// The listener's audio path against takes rendered by jamd's own synthesizer: beats and tempo
// (steady, arpeggios, a melody alone, a shuffle, a ramp), chords per beat, notes from pitch,
// silence in the middle, noise, clipping, DC offset, several sample rates and mono input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <tuple>
#include <vector>

#include "realtime/listen/listen_file.h"
#include "tests/realtime/listen/takes.h"

namespace jamd::realtime {
namespace {

using testing::beat_f_measure;
using testing::benchmark_take;
using testing::chord_accuracy;
using testing::heard_beats_s;
using testing::make_take;
using testing::Style;
using testing::Take;
using testing::TakeSpec;

constexpr int kSkipBeats = 4;
constexpr double kTolS = 0.07;

struct Heard {
  Take take;
  ListenResult r;
  double from_s = 0;
  double f() const { return beat_f_measure(heard_beats_s(r), take.beats_s, kTolS, from_s); }
  double tempo() const { return testing::tempo_error(r, take, from_s); }
};

// Each take is rendered and listened to once per process (the suite runs as one: see
// CMakeLists.txt), and cases that check other things of the same take share what was heard.
const Heard& hear(const TakeSpec& spec) {
  static std::vector<std::unique_ptr<Heard>> heard;
  for (const auto& h : heard) {
    if (h->take.spec == spec) return *h;
  }
  auto h = std::make_unique<Heard>(Heard{make_take(spec), {}, 0});
  h->r = listen_audio(h->take.audio, h->take.channels, h->take.sample_rate_hz, {});
  h->from_s = h->take.beats_s[kSkipBeats] - 0.01;
  h->take.audio = {};  // the scores need only the truth; keeps what stays small
  heard.push_back(std::move(h));
  return *heard.back();
}

TEST(ListenAudio, BlockPianoChordsBeatsAndTempo) {
  const Heard& h = hear(benchmark_take("block_piano_C_120"));
  EXPECT_GE(h.f(), 0.9);
  EXPECT_LE(h.tempo(), 0.02);
  EXPECT_GE(chord_accuracy(h.r, h.take, kSkipBeats), 0.85);
  double beats = 0;
  testing::chord_change_latency_ms(h.r, h.take, &beats);
  EXPECT_LE(beats, 1.0) << "chord decided more than a beat after the change";
}

TEST(ListenAudio, GuitarInAMinorAt84Bpm) {
  TakeSpec at_48k = benchmark_take("block_guitar_Am_84");
  at_48k.sample_rate_hz = 48000;
  const Heard& h = hear(at_48k);
  EXPECT_GE(h.f(), 0.9);
  EXPECT_GE(chord_accuracy(h.r, h.take, kSkipBeats), 0.85);
}

TEST(ListenAudio, ArpeggioBeatsAtTheQuarterLevel) {
  const Heard& h = hear(benchmark_take("arp_piano_Eb_96"));
  EXPECT_GE(h.f(), 0.9);
  EXPECT_LE(h.tempo(), 0.02);
}

// Melody notes heard with the right pitch within 50 ms of where they start, and the mean time
// from the note's start to the listener's decision.
struct NoteScore {
  int right = 0;
  double latency_s = 0;
};

NoteScore score_notes(const Heard& h) {
  NoteScore s;
  for (const auto& [t, key] : h.take.melody_onsets) {
    for (const HeardEvent& e : h.r.events) {
      const double et = static_cast<double>(e.frame) / h.r.sample_rate_hz;
      if (e.kind == HeardKind::kNoteOn && std::abs(et - t) <= 0.05 && e.pitch == key) {
        ++s.right;
        s.latency_s += static_cast<double>(e.decided_frame) / h.r.sample_rate_hz - t;
        break;
      }
    }
  }
  if (s.right > 0) s.latency_s /= s.right;
  return s;
}

TEST(ListenAudio, MelodyAloneBeatsAndNotes) {
  const Heard& h = hear(benchmark_take("melody_piano_Dm_150"));
  EXPECT_GE(h.f(), 0.9);
  // The first lock, on two seconds of a single line, is at the 2/3 level (100 BPM); a young
  // lock moves to a faster tempo on half the evidence. Measured 2026-11-23: 1.54 % (was 2.3 %).
  EXPECT_LE(h.tempo(), 0.02);
  // Notes: most melody notes are heard with the right pitch, close to where they start.
  const NoteScore notes = score_notes(h);
  // Measured 2026-11-23: 98 % right within 50 ms (was 82 %), decided 31 ms after the note on
  // average (was 41).
  EXPECT_GE(notes.right, static_cast<int>(0.85 * h.take.melody_onsets.size()));
  ASSERT_GT(notes.right, 0);
  EXPECT_LE(notes.latency_s, 0.05) << "note onsets decided later than the 50 ms target";
}

TEST(ListenAudio, FluteNotesSwellingInAreHeardWithin50Ms) {
  // A flute's attack swells over ~40 ms and hardly moves the spectral flux: its notes start on
  // the level's rise out of the dip between notes, the pitch from a one-hop window.
  const Heard& h = hear(benchmark_take("melody_flute_G_100"));
  const NoteScore notes = score_notes(h);
  // Measured 2026-11-23: 87 % right within 50 ms (was 38 %), decided 45 ms after (was 66).
  EXPECT_GE(notes.right, static_cast<int>(0.75 * h.take.melody_onsets.size()));
  ASSERT_GT(notes.right, 0);
  EXPECT_LE(notes.latency_s, 0.05) << "note onsets decided later than the 50 ms target";
}

TEST(ListenAudio, ArpeggiatedChordsAndTheirSeventhsFromAudio) {
  // Two eighths per beat: each beat shows two notes of the chord, the seventh only on its
  // second beat (I vi IV V7 in Eb and in D at 70 BPM, where the beat is also an octave trap).
  for (const char* name : {"arp_piano_Eb_96", "arp_piano_D_70"}) {
    const Heard& h = hear(benchmark_take(name));
    const double tempo = h.take.spec.tempo_bpm;
    // Measured 2026-11-23: 0.955 (Eb, 96 BPM) and 0.864 (D, 70 BPM).
    EXPECT_GE(chord_accuracy(h.r, h.take, kSkipBeats), 0.85) << tempo << " BPM";
    // At 70 BPM the eighths come at 140 a minute and only some beats sound accented: the
    // harmony's rhythm (a chord every eight eighths) holds the beat at 70 (was locked at 140,
    // F 0.74). Measured 2026-11-23: F 0.978, tempo error 0.07 %.
    EXPECT_GE(h.f(), 0.9) << tempo << " BPM";
    EXPECT_LE(h.tempo(), 0.02) << tempo << " BPM";
  }
}

TEST(ListenAudio, ShuffleFindsTheBeatNotTheSwungUpbeat) {
  const Heard& h = hear(benchmark_take("shuffle_epiano_Bb_110"));
  EXPECT_GE(h.f(), 0.8);
  EXPECT_LE(h.tempo(), 0.02);
}

TEST(ListenAudio, FollowsATempoRamp) {
  const Heard& h = hear(benchmark_take("ramp_piano_90_130"));
  EXPECT_GE(h.f(), 0.9);
  EXPECT_LE(h.tempo(), 0.04);
}

TEST(ListenAudio, SilenceInTheMiddleIsNoBeatAndNoChordThenLocksAgain) {
  const Heard& h = hear(benchmark_take("silence_guitar_C_100"));
  const double quiet_from = h.take.beats_s[24], quiet_to = h.take.beats_s[32];
  bool silence = false, no_beat = false;
  for (const HeardEvent& e : h.r.events) {
    const double t = static_cast<double>(e.frame) / h.r.sample_rate_hz;
    if (e.kind == HeardKind::kSilence && t > quiet_from && t < quiet_from + 1.0) silence = true;
    if (e.kind == HeardKind::kNoBeat && t > quiet_from && t < quiet_to) no_beat = true;
    if (e.kind == HeardKind::kChord && t > quiet_from + 0.9 && t < quiet_to - 0.3) {
      EXPECT_EQ(e.chord.quality, ChordQuality::kNone) << "a chord invented in silence at " << t;
    }
    if (e.kind == HeardKind::kBeat && t > quiet_from + 1.0 && t < quiet_to - 0.1) {
      ADD_FAILURE() << "a beat invented in silence at " << t;
    }
  }
  EXPECT_TRUE(silence);
  EXPECT_TRUE(no_beat);
  // After the silence, the pulse comes back.
  EXPECT_GE(beat_f_measure(heard_beats_s(h.r), h.take.beats_s, kTolS, quiet_to + 3.0), 0.9);
}

TEST(ListenAudio, NoiseDoesNotHideBeatsOrChords) {
  const Heard& h = hear(benchmark_take("block_piano_A_noise"));
  EXPECT_GE(h.f(), 0.9);
  EXPECT_GE(chord_accuracy(h.r, h.take, kSkipBeats), 0.85);
}

TEST(ListenAudio, OrganAt160BpmIsNotHalved) {
  const Heard& h = hear(benchmark_take("block_organ_E_160"));
  EXPECT_GE(h.f(), 0.9);
  EXPECT_LE(h.tempo(), 0.02);
}

TEST(ListenAudio, SampleRatesAndMonoGiveTheSameBeats) {
  for (const auto& [rate, channels] : {std::pair<uint32_t, int>{22050, 1}, {96000, 2}}) {
    const Heard& h = hear({.style = Style::kBlock,
                           .tempo_bpm = 120,
                           .bars = 8,
                           .key_pc = 7,
                           .sample_rate_hz = rate,
                           .channels = channels,
                           .seed = 1});
    EXPECT_GE(h.f(), 0.9) << rate << " Hz, " << channels << " channel(s)";
  }
}

// The take that bad input spoils, each case its own copy.
Take eight_clean_bars() {
  return testing::shared_take(
      {.style = Style::kBlock, .tempo_bpm = 120, .bars = 8, .key_pc = 0, .seed = 1});
}

TEST(ListenAudio, ClippingAndDcOffsetAreHandled) {
  Take take = eight_clean_bars();
  for (float& s : take.audio) s = std::clamp(8.0f * s + 0.3f, -1.0f, 1.0f);  // hard clip, DC
  const ListenResult r = listen_audio(take.audio, take.channels, take.sample_rate_hz, {});
  EXPECT_GE(beat_f_measure(heard_beats_s(r), take.beats_s, kTolS, take.beats_s[kSkipBeats] - 0.01),
            0.9);
  // Clipping adds odd harmonics, not new chord tones: the chords survive it (measured 0.964).
  EXPECT_GE(chord_accuracy(r, take, kSkipBeats), 0.85);
}

TEST(ListenAudio, DcOffsetAloneChangesNothing) {
  Take take = eight_clean_bars();
  const ListenResult clean = listen_audio(take.audio, take.channels, take.sample_rate_hz, {});
  for (float& s : take.audio) s += 0.5f;
  const ListenResult offset = listen_audio(take.audio, take.channels, take.sample_rate_hz, {});
  EXPECT_EQ(heard_beats_s(offset).size(), heard_beats_s(clean).size());
  EXPECT_NEAR(chord_accuracy(offset, take, kSkipBeats), chord_accuracy(clean, take, kSkipBeats),
              0.05);
}

TEST(ListenAudio, NonFiniteSamplesAreSilencedNotPropagated) {
  Take take = eight_clean_bars();
  for (size_t i = 0; i < take.audio.size(); i += 997) {
    take.audio[i] = (i / 997) % 2 ? std::nanf("") : INFINITY;
  }
  const ListenResult r = listen_audio(take.audio, take.channels, take.sample_rate_hz, {});
  EXPECT_GE(beat_f_measure(heard_beats_s(r), take.beats_s, kTolS, take.beats_s[kSkipBeats] - 0.01),
            0.9);
  for (const HeardEvent& e : r.events) {
    EXPECT_TRUE(std::isfinite(e.confidence)) << heard_kind_name(e.kind);
    EXPECT_TRUE(std::isfinite(e.tempo_bpm)) << heard_kind_name(e.kind);
  }
}

TEST(ListenAudio, AllSilenceHearsNothing) {
  const std::vector<float> zeros(44100 * 10, 0.0f);
  const ListenResult r = listen_audio(zeros, 1, 44100, {});
  for (const HeardEvent& e : r.events) {
    EXPECT_TRUE(e.kind != HeardKind::kBeat && e.kind != HeardKind::kChord &&
                e.kind != HeardKind::kKey && e.kind != HeardKind::kNoteOn)
        << heard_kind_name(e.kind);
  }
}

}  // namespace
}  // namespace jamd::realtime
