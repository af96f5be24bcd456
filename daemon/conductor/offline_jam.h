// The offline jam: the whole live loop (listener, conductor, scheduler, synth) on the virtual
// clock as fast as possible, into a WAV, a multi-track MIDI file and a per-bar report. A
// musician's MIDI file is played by the scheduler (audible in the mix) and heard by the listener
// as if it came in on jamd:midi_in; a WAV take is mixed in and heard as if on jamd:in_1/in_2.
// `jamd render` is its command line.
//
//   OfflineJamOptions options;
//   options.input_path = "human.mid";              // empty: the band alone (continue mode)
//   options.wav_path = "jam.wav";
//   options.model_path = "models/band.jamd";
//   absl::StatusOr<OfflineJamResult> jam = render_jam(options);
//   write_jam_midi("jam.mid", *jam);  write_file("report.json", jam_report_json(*jam));
//
// Thread safety: render_jam() runs everything on the calling thread (it is the conductor, the
// musician's feeder and the RT callback's caller, in lockstep); separate calls share nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/conductor/conductor.h"
#include "daemon/jam/jam_state.h"
#include "realtime/io/virtual_io.h"

namespace jamd {

struct OfflineJamOptions {
  std::string input_path;  // the musician: a Standard MIDI File or a WAV; empty: no musician
  std::string wav_path;    // empty: no audio is written (the synth still runs)
  std::string model_path;
  // The registry picks: CUDA when built in and a device works, else the CPU (and says why).
  models::BackendKind backend = models::BackendKind::kAuto;
  JamState state;    // parts, seed, mode...; tempo (and metre) come from the input when given
  int64_t bars = 0;  // 0: the input's length in whole bars, or 8 without input
  Horizons horizons{};
  // float32 by default: a render is the reference (matches PyTorch within 1e-4, the same on every
  // machine with the same kernels); live jams default to bf16 for speed (ConductorOptions).
  models::Precision precision = models::Precision::kFloat32;
  // A MIDI musician's chord is decided this far into the beat: the notes of a struck chord arrive
  // together, so a quarter beat is enough and the band reacts half a beat sooner than at the
  // listener's default (0.75, which an audio take keeps: it needs the longer look).
  double midi_chord_decision_beats = 0.25;
  std::string soundfont = "default";
  uint32_t sample_rate_hz = 48000;  // a WAV take's own rate replaces it
  uint32_t period_frames = 256;
  double tail_seconds = 2.0;  // rendered after the last bar, for the releases
  // Steering posted when the playhead reaches the start of a bar: (bar, new state).
  std::vector<std::pair<int64_t, JamState>> steering;
  // Optional, before each period with its first frame (benchmarks sample memory with it).
  std::function<void(int64_t frame)> on_period;
  // Without it the jam's tempo is the input's; with it the jam starts at state.tempo_bpm and
  // follows the musician's heard beats (the musician is then heard, not played into the mix).
  bool follow_tempo = false;
  TempoOptions tempo{};
  AccompanyOptions accompany{};
};

struct OfflineJamResult {
  JamRecord record;
  double tempo_bpm = 0.0;
  int beats_per_bar = 4;
  int64_t bars = 0;
  uint32_t sample_rate_hz = 48000;
  realtime::OfflineRenderStats render;
  std::string backend;
  int64_t playhead_tick_end = 0;  // the RT scheduler's musical clock at the last frame
  uint64_t events_late = 0;       // notes that reached the scheduler after their frame
  int64_t tokens_generated = 0;
  double generation_ms = 0.0;
};

absl::StatusOr<OfflineJamResult> render_jam(const OfflineJamOptions& options);

// One track for the tempo, one for the musician, one per band part that played.
absl::Status write_jam_midi(const std::string& path, const OfflineJamResult& jam);
// Per bar: heard chords, the band's chords (estimated per beat from its bass and keys), tokens
// and generation time; then the reactions and totals.
std::string jam_report_json(const OfflineJamResult& jam);
// The chord the band's bass and keys sound in [begin, end), "N" when they are silent.
std::string band_chord_name(const std::vector<TimedNote>& notes, int64_t begin_tick,
                            int64_t end_tick);

}  // namespace jamd
