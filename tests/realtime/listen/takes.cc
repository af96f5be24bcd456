// Ground-truth takes (MIDI written here, rendered by jamd's synthesizer) and the listener scores.
#include "tests/realtime/listen/takes.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>

#include "realtime/core/tempo_map.h"
#include "realtime/synth/synth.h"

namespace jamd::realtime::testing {
namespace {

constexpr int kTicksPerQuarter = 480;

struct Degree {
  int offset;
  ChordQuality quality;
};
using Q = ChordQuality;
const std::vector<std::vector<Degree>> kMajorProgressions = {
    {{0, Q::kMajor}, {9, Q::kMinor}, {5, Q::kMajor}, {7, Q::kDominant7}},
    {{2, Q::kMinor7}, {7, Q::kDominant7}, {0, Q::kMajor7}, {9, Q::kMinor}},
    {{0, Q::kMajor}, {4, Q::kMinor}, {5, Q::kMajor7}, {11, Q::kDiminished}},
};
const std::vector<std::vector<Degree>> kMinorProgressions = {
    {{0, Q::kMinor}, {5, Q::kMinor}, {7, Q::kDominant7}, {0, Q::kMinor}},
    {{0, Q::kMinor7}, {8, Q::kMajor}, {3, Q::kMajor7}, {7, Q::kDominant7}},
    {{0, Q::kMinor}, {2, Q::kDiminished}, {7, Q::kDominant7}, {8, Q::kMajor}},
};

struct Note {
  double beat;   // start, in beats from the take's start
  double beats;  // duration
  int key;
  int velocity;
};

std::vector<int> chord_keys(Chord c, int low) {
  int iv[4];
  const int n = chord_intervals(c.quality, iv);
  std::vector<int> keys;
  for (int i = 0; i < n; ++i) {
    int k = low + ((c.root_pc + iv[i] - low) % 12 + 12) % 12;
    keys.push_back(k);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

int bass_key(Chord c) { return 40 + ((c.root_pc - 40) % 12 + 12) % 12; }  // E2..D#3

void write_block(std::vector<Note>& notes, Chord c, int beat, bool downbeat, int) {
  const int v = downbeat ? 100 : 80;
  notes.push_back({static_cast<double>(beat), 0.9, bass_key(c), v});
  for (int k : chord_keys(c, 57)) notes.push_back({static_cast<double>(beat), 0.9, k, v - 10});
}

void write_arpeggio(std::vector<Note>& notes, Chord c, int beat, bool downbeat, int beat_in_chord) {
  // Two eighths per beat walking the chord: root and third, fifth and seventh (or third), root
  // and fifth an octave up, third and fifth; the low note on the beat.
  int iv[4];
  const int n = chord_intervals(c.quality, iv);
  const int root = bass_key(c) + 12;
  const int seventh = n == 4 ? iv[3] : iv[1] + 12;
  static constexpr int kPairs[4][2] = {{0, 1}, {2, 3}, {4, 2}, {1, 2}};
  const auto tone = [&](int which) {
    switch (which) {
      case 0:
        return root - 12;
      case 1:
        return root + iv[1];
      case 2:
        return root + iv[2];
      case 3:
        return root + seventh;
      default:
        return root + 12;
    }
  };
  const int* pair = kPairs[beat_in_chord % 4];
  notes.push_back({static_cast<double>(beat), 0.5, tone(pair[0]), downbeat ? 100 : 88});
  notes.push_back({beat + 0.5, 0.5, tone(pair[1]), 66});
}

void write_shuffle(std::vector<Note>& notes, Chord c, int beat, bool downbeat, int beat_in_bar) {
  const bool backbeat = beat_in_bar % 2 == 1;
  notes.push_back({static_cast<double>(beat), 0.6, bass_key(c), downbeat ? 100 : 88});
  if (backbeat) {
    for (int k : chord_keys(c, 60)) notes.push_back({static_cast<double>(beat), 0.5, k, 80});
  }
  // The swung "and": two thirds into the beat.
  for (int k : chord_keys(c, 60)) notes.push_back({beat + 2.0 / 3.0, 0.25, k, 60});
}

void write_melody_bar(std::vector<Note>& notes, Chord c, int bar_beat, int beats_per_bar,
                      std::mt19937& rng, int key_pc, bool minor) {
  static const std::vector<std::vector<double>> kRhythms = {
      {1, 1, 1, 1}, {1, 0.5, 0.5, 1, 1}, {1, 1, 0.5, 0.5, 1},
      {2, 1, 1},    {1, 1, 2},           {1.5, 0.5, 1, 1}};
  const std::vector<double>& rhythm = kRhythms[rng() % kRhythms.size()];
  static constexpr int kMajorScale[7] = {0, 2, 4, 5, 7, 9, 11};
  static constexpr int kMinorScale[7] = {0, 2, 3, 5, 7, 8, 10};
  const std::vector<int> tones = chord_keys(c, 64);
  double t = 0;
  for (double d : rhythm) {
    if (t >= beats_per_bar) break;
    const bool on_beat = std::abs(t - std::round(t)) < 1e-6;
    int key;
    if (on_beat) {
      key = tones[rng() % tones.size()];
    } else {
      const int step = (minor ? kMinorScale : kMajorScale)[rng() % 7];
      key = 64 + ((key_pc + step - 64) % 12 + 12) % 12;
    }
    const double dur = std::min(d, beats_per_bar - t);
    notes.push_back({bar_beat + t, 0.92 * dur, key, on_beat ? (t == 0 ? 100 : 92) : 72});
    t += d;
  }
}

void append_noise(std::vector<float>& audio, float dbfs, uint32_t seed) {
  if (dbfs < -150) return;
  std::mt19937 rng(seed);
  const float amplitude = std::pow(10.0f, dbfs / 20.0f) * std::sqrt(3.0f);  // uniform: rms a/sqrt3
  std::uniform_real_distribution<float> u(-amplitude, amplitude);
  for (float& s : audio) s += u(rng);
}

std::vector<float> render(const MidiFile& midi, uint32_t rate, int channels) {
  int64_t end_frame = 0;
  const std::vector<TimedMidiMessage> timeline = midi_timeline(midi, rate, &end_frame);
  const int64_t total = end_frame + static_cast<int64_t>(rate) * 3 / 2;  // the tail rings out
  // FluidSynth's own default interpolation (4th order), not the cheaper RT default: the takes
  // are ground truth and should sound as they did when the thresholds were measured.
  auto synth =
      Synth::create({.sample_rate_hz = rate, .interpolation = Interpolation::kFourthOrder});
  assert(synth.ok());
  std::vector<float> left(static_cast<size_t>(total)), right(static_cast<size_t>(total));
  int64_t done = 0;
  size_t next = 0;
  while (done < total) {
    int64_t until = total;
    if (next < timeline.size())
      until = std::min<int64_t>(until, static_cast<int64_t>(timeline[next].frame));
    while (done < until) {
      const uint32_t n = static_cast<uint32_t>(std::min<int64_t>(4096, until - done));
      (*synth)->render(left.data() + done, right.data() + done, n);
      done += n;
    }
    while (next < timeline.size() && static_cast<int64_t>(timeline[next].frame) <= done) {
      (*synth)->handle(timeline[next++].message);
    }
  }
  std::vector<float> out(static_cast<size_t>(total) * static_cast<size_t>(channels));
  for (size_t i = 0; i < static_cast<size_t>(total); ++i) {
    if (channels == 2) {
      out[2 * i] = left[i];
      out[2 * i + 1] = right[i];
    } else {
      out[i] = 0.5f * (left[i] + right[i]);
    }
  }
  return out;
}

MidiEvent channel_event(uint64_t tick, uint8_t status, std::vector<uint8_t> data) {
  MidiEvent e;
  e.tick = tick;
  e.status = status;
  e.data = std::move(data);
  return e;
}

MidiEvent meta_event(uint64_t tick, uint8_t type, std::vector<uint8_t> data) {
  MidiEvent e;
  e.tick = tick;
  e.status = 0xFF;
  e.meta_type = type;
  e.data = std::move(data);
  return e;
}

}  // namespace

Take make_take(const TakeSpec& spec, bool render_audio) {
  Take take;
  take.spec = spec;
  take.sample_rate_hz = spec.sample_rate_hz;
  take.channels = spec.channels;
  take.key = {spec.key_pc, spec.minor};
  std::mt19937 rng(spec.seed);
  const auto& progressions = spec.minor ? kMinorProgressions : kMajorProgressions;
  const std::vector<Degree>& prog = progressions[spec.seed % progressions.size()];
  const int n_beats = spec.bars * spec.beats_per_bar;

  std::vector<Note> notes;
  for (int beat = 0; beat < n_beats; ++beat) {
    const int bar = beat / spec.beats_per_bar;
    const int chord_i = beat / spec.chord_beats;
    const Degree d = prog[static_cast<size_t>(chord_i) % prog.size()];
    const Chord chord{(spec.key_pc + d.offset) % 12, d.quality};
    const bool silent = spec.silence_from_bar >= 0 && bar >= spec.silence_from_bar &&
                        bar < spec.silence_from_bar + spec.silence_bars;
    take.sounding.push_back(!silent);
    take.chords.push_back(silent || spec.style == Style::kMelody ? Chord{} : chord);
    if (silent) continue;
    const int in_bar = beat % spec.beats_per_bar;
    switch (spec.style) {
      case Style::kBlock:
        write_block(notes, chord, beat, in_bar == 0, in_bar);
        break;
      case Style::kArpeggio:
        write_arpeggio(notes, chord, beat, in_bar == 0, beat % spec.chord_beats);
        break;
      case Style::kShuffle:
        write_shuffle(notes, chord, beat, in_bar == 0, in_bar);
        break;
      case Style::kMelody:
        if (in_bar == 0) {
          write_melody_bar(notes, chord, beat, spec.beats_per_bar, rng, spec.key_pc, spec.minor);
        }
        break;
    }
  }

  MidiTrack track;
  track.events.push_back(
      meta_event(0, kMetaTimeSignature, {static_cast<uint8_t>(spec.beats_per_bar), 2, 24, 8}));
  for (int beat = 0; beat < n_beats; ++beat) {
    const double tempo = spec.end_tempo_bpm > 0
                             ? spec.tempo_bpm + (spec.end_tempo_bpm - spec.tempo_bpm) * beat /
                                                    std::max(1, n_beats - 1)
                             : spec.tempo_bpm;
    take.tempo_bpm.push_back(tempo);
    if (beat == 0 || spec.end_tempo_bpm > 0) {
      const int us = static_cast<int>(std::lround(60e6 / tempo));
      track.events.push_back(meta_event(static_cast<uint64_t>(beat) * kTicksPerQuarter, kMetaTempo,
                                        {static_cast<uint8_t>(us >> 16),
                                         static_cast<uint8_t>(us >> 8), static_cast<uint8_t>(us)}));
    }
  }
  track.events.push_back(channel_event(0, 0xC0, {static_cast<uint8_t>(spec.program)}));
  struct Timed {
    uint64_t tick;
    int order;  // note-offs before note-ons at one tick
    MidiEvent e;
  };
  std::vector<Timed> timed;
  for (const Note& n : notes) {
    const uint64_t on = static_cast<uint64_t>(std::llround(n.beat * kTicksPerQuarter));
    const uint64_t off = static_cast<uint64_t>(std::llround((n.beat + n.beats) * kTicksPerQuarter));
    timed.push_back(
        {on, 1,
         channel_event(on, 0x90, {static_cast<uint8_t>(n.key), static_cast<uint8_t>(n.velocity)})});
    timed.push_back({off, 0, channel_event(off, 0x80, {static_cast<uint8_t>(n.key), 0})});
    if (spec.style == Style::kMelody) take.melody_onsets.push_back({n.beat, n.key});
  }
  std::stable_sort(timed.begin(), timed.end(), [](const Timed& a, const Timed& b) {
    return a.tick != b.tick ? a.tick < b.tick : a.order < b.order;
  });
  for (Timed& t : timed) track.events.push_back(std::move(t.e));
  std::stable_sort(track.events.begin(), track.events.end(),
                   [](const MidiEvent& a, const MidiEvent& b) { return a.tick < b.tick; });
  track.end_tick = static_cast<uint64_t>(n_beats) * kTicksPerQuarter;
  take.midi.format = 0;
  take.midi.ticks_per_quarter = kTicksPerQuarter;
  take.midi.tracks.push_back(std::move(track));

  // Beat times from the same tempo map the renderer and the MIDI path use.
  TempoMap map(spec.sample_rate_hz, kTicksPerQuarter);
  for (int beat = 0; beat < n_beats; ++beat)
    map.set_tempo(beat * kTicksPerQuarter, take.tempo_bpm[beat]);
  for (int beat = 0; beat < n_beats; ++beat) {
    take.beats_s.push_back(static_cast<double>(map.frame_at(beat * kTicksPerQuarter)) /
                           spec.sample_rate_hz);
  }
  for (auto& [t, key] : take.melody_onsets) {
    t = static_cast<double>(map.frame_at(std::llround(t * kTicksPerQuarter))) / spec.sample_rate_hz;
  }
  if (render_audio) {
    take.audio = render(take.midi, spec.sample_rate_hz, spec.channels);
    append_noise(take.audio, spec.noise_dbfs, spec.seed);
  }
  return take;
}

const std::vector<TakeSpec>& benchmark_takes() {
  static const std::vector<TakeSpec> takes = {
      {.name = "block_piano_C_120",
       .style = Style::kBlock,
       .tempo_bpm = 120,
       .key_pc = 0,
       .program = 0,
       .seed = 1},
      {.name = "block_guitar_Am_84",
       .style = Style::kBlock,
       .tempo_bpm = 84,
       .key_pc = 9,
       .minor = true,
       .program = 24,
       .seed = 2},
      {.name = "arp_piano_Eb_96",
       .style = Style::kArpeggio,
       .tempo_bpm = 96,
       .key_pc = 3,
       .program = 0,
       .seed = 3},
      {.name = "arp_guitar_F#m_132",
       .style = Style::kArpeggio,
       .tempo_bpm = 132,
       .key_pc = 6,
       .minor = true,
       .program = 24,
       .seed = 4},
      {.name = "melody_flute_G_100",
       .style = Style::kMelody,
       .tempo_bpm = 100,
       .key_pc = 7,
       .program = 73,
       .seed = 5},
      {.name = "melody_piano_Dm_150",
       .style = Style::kMelody,
       .tempo_bpm = 150,
       .key_pc = 2,
       .minor = true,
       .program = 0,
       .seed = 6},
      {.name = "shuffle_epiano_Bb_110",
       .style = Style::kShuffle,
       .tempo_bpm = 110,
       .key_pc = 10,
       .program = 4,
       .seed = 7},
      {.name = "block_organ_E_160",
       .style = Style::kBlock,
       .tempo_bpm = 160,
       .key_pc = 4,
       .program = 16,
       .seed = 8},
      {.name = "arp_piano_D_70",
       .style = Style::kArpeggio,
       .tempo_bpm = 70,
       .key_pc = 2,
       .program = 0,
       .seed = 9},
      {.name = "block_piano_A_noise",
       .style = Style::kBlock,
       .tempo_bpm = 108,
       .key_pc = 9,
       .program = 0,
       .noise_dbfs = -30,
       .seed = 10},
      {.name = "ramp_piano_90_130",
       .style = Style::kBlock,
       .tempo_bpm = 90,
       .end_tempo_bpm = 130,
       .bars = 16,
       .key_pc = 5,
       .program = 0,
       .seed = 11},
      {.name = "silence_guitar_C_100",
       .style = Style::kBlock,
       .tempo_bpm = 100,
       .bars = 14,
       .key_pc = 0,
       .program = 24,
       .silence_from_bar = 6,
       .silence_bars = 2,
       .seed = 12},
  };
  return takes;
}

const TakeSpec& benchmark_take(std::string_view name) {
  for (const TakeSpec& spec : benchmark_takes()) {
    if (spec.name == name) return spec;
  }
  assert(false && "no benchmark take of that name");
  std::abort();
}

const Take& shared_take(const TakeSpec& spec) {
  static std::vector<std::unique_ptr<Take>> rendered;
  for (const auto& take : rendered) {
    if (take->spec == spec) return *take;
  }
  rendered.push_back(std::make_unique<Take>(make_take(spec)));
  return *rendered.back();
}

std::vector<double> heard_beats_s(const ListenResult& r) {
  std::vector<double> out;
  for (const HeardEvent& e : r.events) {
    if (e.kind == HeardKind::kBeat) out.push_back(static_cast<double>(e.frame) / r.sample_rate_hz);
  }
  return out;
}

std::vector<double> heard_tempi_bpm(const ListenResult& r) {
  std::vector<double> out;
  for (const HeardEvent& e : r.events) {
    if (e.kind == HeardKind::kBeat) out.push_back(e.tempo_bpm);
  }
  return out;
}

double beat_f_measure(const std::vector<double>& heard, const std::vector<double>& truth,
                      double tol, double from_s, double to_s) {
  std::vector<double> ref, est;
  for (double t : truth)
    if (t >= from_s && t <= to_s) ref.push_back(t);
  for (double t : heard)
    if (t >= from_s - tol && t <= to_s + tol) est.push_back(t);
  if (ref.empty() && est.empty()) return 1.0;
  if (ref.empty() || est.empty()) return 0.0;
  std::vector<bool> used(est.size(), false);
  int matched = 0;
  for (double r : ref) {
    int best = -1;
    double best_d = tol;
    for (size_t i = 0; i < est.size(); ++i) {
      const double d = std::abs(est[i] - r);
      if (!used[i] && d <= best_d) best_d = d, best = static_cast<int>(i);
    }
    if (best >= 0) used[static_cast<size_t>(best)] = true, ++matched;
  }
  const double p = static_cast<double>(matched) / est.size();
  const double rc = static_cast<double>(matched) / ref.size();
  return p + rc > 0 ? 2 * p * rc / (p + rc) : 0.0;
}

double tempo_error(const ListenResult& r, const Take& take, double from_s, double to_s) {
  double sum = 0;
  int n = 0;
  for (const HeardEvent& e : r.events) {
    if (e.kind != HeardKind::kBeat) continue;
    const double t = static_cast<double>(e.frame) / r.sample_rate_hz;
    if (t < from_s || t > to_s) continue;
    size_t k = 0;
    double best = 1e9;
    for (size_t i = 0; i < take.beats_s.size(); ++i) {
      if (std::abs(take.beats_s[i] - t) < best) best = std::abs(take.beats_s[i] - t), k = i;
    }
    sum += std::abs(e.tempo_bpm - take.tempo_bpm[k]) / take.tempo_bpm[k];
    ++n;
  }
  return n > 0 ? sum / n : 1.0;
}

namespace {
const HeardEvent* chord_at_beat(const ListenResult& r, const Take& take, size_t k) {
  const double beat_s = 60.0 / take.tempo_bpm[k];
  const double t = take.beats_s[k];
  const HeardEvent* best = nullptr;
  double best_d = 0.3 * beat_s;
  for (const HeardEvent& e : r.events) {
    if (e.kind != HeardKind::kChord) continue;
    const double d = std::abs(static_cast<double>(e.frame) / r.sample_rate_hz - t);
    if (d <= best_d) best_d = d, best = &e;
  }
  return best;
}
}  // namespace

double chord_accuracy(const ListenResult& r, const Take& take, int from_beat) {
  int n = 0, right = 0;
  for (size_t k = static_cast<size_t>(from_beat); k < take.beats_s.size(); ++k) {
    if (!take.sounding[k]) continue;
    ++n;
    const HeardEvent* e = chord_at_beat(r, take, k);
    if (e != nullptr && e->chord == take.chords[k]) ++right;
  }
  return n > 0 ? static_cast<double>(right) / n : 0.0;
}

double chord_change_latency_ms(const ListenResult& r, const Take& take, double* mean_beats) {
  double sum_ms = 0, sum_beats = 0;
  int n = 0;
  for (size_t k = 1; k < take.beats_s.size(); ++k) {
    if (take.chords[k] == take.chords[k - 1] || !take.sounding[k]) continue;
    const HeardEvent* e = chord_at_beat(r, take, k);
    if (e == nullptr || e->chord != take.chords[k]) continue;
    const double latency_s =
        static_cast<double>(e->decided_frame) / r.sample_rate_hz - take.beats_s[k];
    sum_ms += 1000 * latency_s;
    sum_beats += latency_s * take.tempo_bpm[k] / 60.0;
    ++n;
  }
  if (mean_beats != nullptr) *mean_beats = n > 0 ? sum_beats / n : 0;
  return n > 0 ? sum_ms / n : 0;
}

}  // namespace jamd::realtime::testing
