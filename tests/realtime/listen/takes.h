// Ground-truth takes for the listener: MIDI written here with known tempo, chords and notes, in
// several styles, rendered to audio by jamd's own synthesizer; and the scores that compare what
// the listener heard with the truth (beat F-measure, tempo error, chord accuracy per beat).
//
//   Take take = make_take({.style = Style::kArpeggio, .tempo_bpm = 96, .program = 0});
//   ListenResult heard = listen_audio(take.audio, 2, take.sample_rate_hz, {});
//   double f = beat_f_measure(beat_times(heard), take.beats_s, 0.07);
//
// Thread safety: plain functions; rendering creates its own synthesizer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "realtime/listen/heard_event.h"
#include "realtime/listen/listen_file.h"
#include "realtime/midi/midi_file.h"

namespace jamd::realtime::testing {

enum class Style { kBlock, kArpeggio, kMelody, kShuffle };

struct TakeSpec {
  std::string name = "take";
  Style style = Style::kBlock;
  double tempo_bpm = 120;
  double end_tempo_bpm = 0;  // > 0: a linear ramp over the take
  int bars = 12;
  int beats_per_bar = 4;
  int chord_beats = 4;  // beats per chord
  int key_pc = 0;       // the progression is built in this key
  bool minor = false;
  int program = 0;            // General MIDI program (0 piano, 24 nylon guitar, 73 flute...)
  int silence_from_bar = -1;  // >= 0: no notes for silence_bars bars from here
  int silence_bars = 2;
  float noise_dbfs = -200;  // white noise added to the audio
  uint32_t sample_rate_hz = 44100;
  int channels = 2;
  uint32_t seed = 1;

  bool operator==(const TakeSpec&) const = default;
};

struct Take {
  TakeSpec spec;
  MidiFile midi;
  std::vector<double> beats_s;    // every beat, silence included
  std::vector<double> tempo_bpm;  // per beat
  std::vector<Chord> chords;      // per beat (N in silence and for a melody alone)
  std::vector<bool> sounding;     // per beat: false inside the silence
  std::vector<std::pair<double, int>> melody_onsets;  // (time s, MIDI key) of single-line notes
  Key key;
  uint32_t sample_rate_hz = 44100;
  int channels = 2;
  std::vector<float> audio;  // interleaved
};

// Writes the MIDI; renders the audio too unless render is false.
Take make_take(const TakeSpec& spec, bool render = true);
// make_take(spec), rendered once per process and kept, for cases that listen to the same take
// (copy it to change the audio). Not thread-safe: for the test's main thread.
const Take& shared_take(const TakeSpec& spec);

// The listener's benchmark (bench/listen_bench): twelve named takes (block chords, arpeggios,
// melodies alone, a shuffle, noise, a tempo ramp, silence in the middle; five instruments) that
// the tests check too, so a figure in the benchmark and a threshold in a test are the same take.
const std::vector<TakeSpec>& benchmark_takes();
const TakeSpec& benchmark_take(std::string_view name);  // asserts that it is one of them

// Scores.
std::vector<double> heard_beats_s(const ListenResult& r);
std::vector<double> heard_tempi_bpm(const ListenResult& r);
// Standard beat F-measure with a +-tolerance window, counting reference beats at or after
// from_s only (and estimates from from_s - tolerance).
double beat_f_measure(const std::vector<double>& heard, const std::vector<double>& truth,
                      double tolerance_s, double from_s, double to_s = 1e9);
// Mean relative tempo error of the heard beats matched to true beats after from_s.
double tempo_error(const ListenResult& r, const Take& take, double from_s, double to_s = 1e9);
// Fraction of true beats from beat `from_beat` (sounding only) whose heard chord matches.
double chord_accuracy(const ListenResult& r, const Take& take, int from_beat);
// Mean latency (decided - true change time) of chord events at chord changes, in ms; and the
// same in beats via mean_beats.
double chord_change_latency_ms(const ListenResult& r, const Take& take, double* mean_beats);

}  // namespace jamd::realtime::testing
