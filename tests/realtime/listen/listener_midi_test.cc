// The listener's MIDI path: notes with exact times, chords and key from held and recent notes,
// tempo from MIDI clock when present, else from the notes' onsets.
#include <gtest/gtest.h>

#include <array>
#include <utility>
#include <vector>

#include "realtime/listen/listen_file.h"
#include "realtime/listen/listener.h"
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

constexpr int kSkipBeats = 4;  // targets count after the first four beats

TimedMidiMessage msg(uint64_t frame, uint8_t status, uint8_t a = 0, uint8_t b = 0,
                     uint8_t size = 3) {
  TimedMidiMessage m;
  m.frame = frame;
  m.message.size = size;
  m.message.bytes[0] = status, m.message.bytes[1] = a, m.message.bytes[2] = b;
  return m;
}

TEST(ListenerMidi, NotesCarryTheirExactFramesWithNoLatency) {
  Listener l({.sample_rate_hz = 48000});
  const std::vector<TimedMidiMessage> m = {msg(1000, 0x90, 60, 100), msg(25000, 0x80, 60, 0),
                                           msg(25000, 0x91, 64, 0)};  // velocity 0 = note off
  l.feed_midi(m);
  l.advance_to(48000);
  std::vector<HeardEvent> notes;
  for (const HeardEvent& e : l.drain()) {
    if (e.kind == HeardKind::kNoteOn || e.kind == HeardKind::kNoteOff) notes.push_back(e);
  }
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_EQ(notes[0].kind, HeardKind::kNoteOn);
  EXPECT_EQ(notes[0].frame, 1000);
  EXPECT_EQ(notes[0].decided_frame, 1000);
  EXPECT_EQ(notes[0].pitch, 60);
  EXPECT_EQ(notes[0].velocity, 100);
  EXPECT_EQ(notes[1].kind, HeardKind::kNoteOff);
  EXPECT_EQ(notes[1].frame, 25000);
  EXPECT_EQ(notes[2].kind, HeardKind::kNoteOff);
}

TEST(ListenerMidi, ClockGivesBeatsEvery24ClocksWithItsTempo) {
  Listener l({.sample_rate_hz = 48000});
  const double clock_frames = 48000.0 * 60 / 100 / 24;  // 100 BPM
  std::vector<TimedMidiMessage> m = {msg(0, 0xFA, 0, 0, 1)};
  for (int i = 0; i < 24 * 8; ++i)
    m.push_back(msg(static_cast<uint64_t>(i * clock_frames), 0xF8, 0, 0, 1));
  m.push_back(msg(static_cast<uint64_t>(24 * 8 * clock_frames), 0xFC, 0, 0, 1));
  l.feed_midi(m);
  l.advance_to(48000 * 6);
  std::vector<HeardEvent> beats;
  bool stopped = false;
  for (const HeardEvent& e : l.drain()) {
    if (e.kind == HeardKind::kBeat) beats.push_back(e);
    if (e.kind == HeardKind::kNoBeat && e.source == HeardSource::kMidiClock) stopped = true;
  }
  ASSERT_EQ(beats.size(), 8u);
  for (size_t i = 0; i < beats.size(); ++i) {
    EXPECT_EQ(beats[i].source, HeardSource::kMidiClock);
    EXPECT_NEAR(static_cast<double>(beats[i].frame), i * 24 * clock_frames, 1.0);
    if (i > 0) {
      EXPECT_NEAR(beats[i].tempo_bpm, 100.0, 0.1);
    }
  }
  EXPECT_TRUE(stopped);
}

TEST(ListenerMidi, BlockChordsAndTheirTempoFromNoteOnsets) {
  const Take take = make_take(benchmark_take("block_piano_C_120"),
                              /*render=*/false);
  const ListenResult r = listen_midi(take.midi, {});
  const double from = take.beats_s[kSkipBeats] - 0.01;
  EXPECT_GE(beat_f_measure(heard_beats_s(r), take.beats_s, 0.07, from), 0.9);
  EXPECT_LE(testing::tempo_error(r, take, from), 0.02);
  EXPECT_GE(chord_accuracy(r, take, kSkipBeats), 0.95);
  // A full chord struck on the beat is decided a quarter of a beat in, not three quarters
  // (measured 2026-11-23: 0.48 beat, 241 ms after the change, including the beat's own
  // latency; was 0.95).
  double beats = 0;
  testing::chord_change_latency_ms(r, take, &beats);
  EXPECT_LE(beats, 0.6);
}

TEST(ListenerMidi, ArpeggiatedChordsFromRecentNotes) {
  const Take take = make_take(benchmark_take("arp_piano_Eb_96"),
                              /*render=*/false);
  const ListenResult r = listen_midi(take.midi, {});
  EXPECT_GE(chord_accuracy(r, take, kSkipBeats), 0.85);
  // Two notes a beat are no full chord: they wait for the beat's second note (0.75 beat in).
  double beats = 0;
  testing::chord_change_latency_ms(r, take, &beats);
  EXPECT_GE(beats, 0.6);
}

TEST(ListenerMidi, ChordsPerBeatAcrossStylesKeysAndTempi) {
  // The benchmark's takes with chords (bench/listen_bench), from MIDI: block chords in four
  // keys (70-160 BPM, a ramp, two silent bars), arpeggios with their sevenths, a shuffle.
  struct Case {
    const char* take;
    double at_least;  // measured 2026-11-22, minus a little
  };
  const std::vector<Case> cases = {
      {"block_piano_C_120", 0.95}, {"block_guitar_Am_84", 0.95},   {"block_organ_E_160", 0.95},
      {"ramp_piano_90_130", 0.95}, {"silence_guitar_C_100", 0.95}, {"arp_piano_Eb_96", 0.93},
      {"arp_piano_D_70", 0.93},    {"arp_guitar_F#m_132", 0.75},   {"shuffle_epiano_Bb_110", 0.85},
  };
  double sum = 0;
  for (const Case& c : cases) {
    const Take take = make_take(benchmark_take(c.take), /*render=*/false);
    const double accuracy = chord_accuracy(listen_midi(take.midi, {}), take, kSkipBeats);
    EXPECT_GE(accuracy, c.at_least) << c.take;
    sum += accuracy;
  }
  // Measured 2026-11-22: 0.950 over these nine (the benchmark's ten add block chords in noise,
  // 1.000, for 0.955; the target is 0.95).
  EXPECT_GE(sum / static_cast<double>(cases.size()), 0.94);
}

TEST(ListenerMidi, ArpeggioEighthsAt70BpmAreNotMistakenFor140) {
  const Take take = make_take(benchmark_take("arp_piano_D_70"),
                              /*render=*/false);
  const ListenResult r = listen_midi(take.midi, {});
  const double from = take.beats_s[kSkipBeats] - 0.01;
  EXPECT_GE(beat_f_measure(heard_beats_s(r), take.beats_s, 0.07, from), 0.9);
}

TEST(ListenerMidi, KeyFromHeldNotes) {
  const Take take =
      make_take({.style = Style::kBlock, .tempo_bpm = 100, .key_pc = 9, .minor = true, .seed = 3},
                /*render=*/false);
  const ListenResult r = listen_midi(take.midi, {});
  Key last;
  for (const HeardEvent& e : r.events) {
    if (e.kind == HeardKind::kKey) last = e.key;
  }
  EXPECT_EQ(key_name(last), "A minor");
}

// Block chords at 120 BPM (0.9 beat long, velocity 90), each struck on `beats_each` beats in a
// row, as jam_reaction_bench's musician plays them.
std::vector<TimedMidiMessage> block_chords(const std::vector<std::array<int, 3>>& chords,
                                           size_t beats_each) {
  constexpr uint64_t kBeatFrames = 24000;  // 120 BPM at 48 kHz
  std::vector<TimedMidiMessage> m;
  for (size_t beat = 0; beat < beats_each * chords.size(); ++beat) {
    for (int key : chords[beat / beats_each]) {
      m.push_back(msg(beat * kBeatFrames, 0x90, static_cast<uint8_t>(key), 90));
    }
    for (int key : chords[beat / beats_each]) {
      m.push_back(
          msg(beat * kBeatFrames + kBeatFrames * 9 / 10, 0x80, static_cast<uint8_t>(key), 0));
    }
  }
  return m;
}

TEST(ListenerMidi, AChordStruckBeforeThePulseIsKnownIsNamedAtTheStrike) {
  // C, F, G, A:min: the first two changes (at 1 s and 2 s) come before the tracker has locked.
  const std::vector<TimedMidiMessage> take =
      block_chords({{60, 64, 67}, {65, 69, 72}, {67, 71, 74}, {69, 72, 76}}, 2);
  Listener l({.sample_rate_hz = 48000});
  l.feed_midi(take);
  l.advance_to(48000 * 4);
  int64_t first_beat_decided = -1;
  std::vector<HeardEvent> struck;
  for (const HeardEvent& e : l.drain()) {
    if (e.kind == HeardKind::kBeat && first_beat_decided < 0) first_beat_decided = e.decided_frame;
    if (e.kind == HeardKind::kChord && e.beat_index < 0) struck.push_back(e);
  }
  ASSERT_GT(first_beat_decided, 48000 * 2) << "the pulse locks after the first two changes";
  const auto named = [&](int64_t frame) -> const HeardEvent* {
    for (const HeardEvent& e : struck) {
      if (e.frame == frame) return &e;
    }
    return nullptr;
  };
  for (const auto& [frame, name] :
       {std::pair<int64_t, const char*>{0, "C:maj"}, {48000, "F:maj"}, {96000, "G:maj"}}) {
    if (frame >= first_beat_decided) break;
    const HeardEvent* e = named(frame);
    ASSERT_NE(e, nullptr) << "no chord named at the strike at frame " << frame;
    EXPECT_EQ(chord_name(e->chord), name);
    EXPECT_LE(e->decided_frame - frame, 48000 / 20) << "named within 50 ms of the strike";
  }
}

TEST(ListenerMidi, AnArpeggioBeforeThePulseIsKnownNamesNoChord) {
  // One note at a time is no strike: nothing to name until there are beats to hang chords on.
  Listener l({.sample_rate_hz = 48000});
  std::vector<TimedMidiMessage> m;
  const int keys[] = {60, 64, 67, 72};
  for (uint64_t i = 0; i < 8; ++i) {
    m.push_back(msg(i * 12000, 0x90, static_cast<uint8_t>(keys[i % 4]), 90));
    m.push_back(msg(i * 12000 + 11000, 0x80, static_cast<uint8_t>(keys[i % 4]), 0));
  }
  l.feed_midi(m);
  l.advance_to(12000 * 8);
  for (const HeardEvent& e : l.drain()) {
    if (e.kind == HeardKind::kChord) {
      EXPECT_GE(e.beat_index, 0) << "a chord on no beat";
    }
  }
}

TEST(ListenerMidi, TheKeyIsUnsureUntilTheNotesHeardLeaveOneScale) {
  // C G Am F, a bar each, twice: until F is struck (6 s) every note heard so far is in C major
  // and in G major alike; Krumhansl-Kessler alone said G major 0.94 at 4 s.
  const std::vector<std::array<int, 3>> loop = {
      {60, 64, 67}, {67, 71, 74}, {69, 72, 76}, {65, 69, 72}};
  std::vector<std::array<int, 3>> twice = loop;
  twice.insert(twice.end(), loop.begin(), loop.end());
  Listener l({.sample_rate_hz = 48000});
  l.feed_midi(block_chords(twice, 4));
  l.advance_to(48000 * 16);
  constexpr int64_t kFirstF = 48000 * 6;
  bool sure_of_c = false;
  for (const HeardEvent& e : l.drain()) {
    if (e.kind != HeardKind::kKey) continue;
    if (e.decided_frame < kFirstF) {
      EXPECT_LT(e.confidence, 0.5f) << key_name(e.key) << " at " << e.frame / 48000.0 << " s";
    } else if (e.confidence >= 0.5f) {
      EXPECT_EQ(key_name(e.key), "C major") << "at " << e.frame / 48000.0 << " s";
      sure_of_c = true;
    }
  }
  EXPECT_TRUE(sure_of_c) << "C major, sure, once F has been heard";
}

TEST(ListenerMidi, NothingPlayedMeansNoBeatNoChordNoKey) {
  Listener l({.sample_rate_hz = 48000});
  l.advance_to(48000 * 10);
  for (const HeardEvent& e : l.drain()) {
    EXPECT_NE(e.kind, HeardKind::kBeat);
    EXPECT_NE(e.kind, HeardKind::kChord);
    EXPECT_NE(e.kind, HeardKind::kKey);
  }
}

}  // namespace
}  // namespace jamd::realtime
