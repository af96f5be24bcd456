// The listener's offline twin: runs the same Listener over a WAV file (any rate, mono or
// stereo, 16/24-bit PCM or float) or a Standard MIDI File, as fast as possible or paced in real
// time, and writes what it heard as JSON (beats with tempo, notes, chords per beat, keys).
//
//   absl::StatusOr<ListenResult> r = listen_file("take.wav", {});
//   if (!r.ok()) { /* "'take.wav' is not a WAV or MIDI file: ..." */ }
//   std::string json = listen_result_json(*r);
//
// Thread safety: free functions; each call owns its Listener.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "realtime/jack/jack_io.h"
#include "realtime/listen/listener.h"
#include "realtime/midi/midi_file.h"

namespace jamd::realtime {

struct ListenFileOptions {
  bool real_time = false;                // pace the input like a live performance
  uint32_t block_frames = 256;           // frames per feed, like a JACK period
  uint32_t midi_sample_rate_hz = 48000;  // the sample clock MIDI files are timed on
  ListenerOptions listener{};            // sample_rate_hz is set from the input
};

struct ListenResult {
  std::string path;
  std::string kind;  // "audio" or "midi"
  uint32_t sample_rate_hz = 0;
  int channels = 0;
  double duration_s = 0;
  std::string time_signature;  // MIDI files: the first time signature, e.g. "6/8"
  std::vector<std::string> warnings;
  std::vector<HeardEvent> events;  // in decision order
  double wall_s = 0;
};

// Reads `path` (WAV or MIDI, told apart by content, not by name) and listens to it.
absl::StatusOr<ListenResult> listen_file(const std::string& path, const ListenFileOptions& options);
// Listens to interleaved float audio already in memory (tests, benchmarks).
ListenResult listen_audio(std::span<const float> interleaved, int channels, uint32_t sample_rate_hz,
                          const ListenFileOptions& options);
// Listens to a parsed MIDI file, timed by its own tempo map.
ListenResult listen_midi(const MidiFile& file, const ListenFileOptions& options);
// Every channel message and MIDI clock of a file on one sample clock, in order; end_frame gets
// where the file ends.
std::vector<TimedMidiMessage> midi_timeline(const MidiFile& file, uint32_t sample_rate_hz,
                                            int64_t* end_frame);

std::string listen_result_json(const ListenResult& result);

}  // namespace jamd::realtime
