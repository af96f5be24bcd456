// MidiTake: the notes of a jam as a multi-track Standard MIDI File (format 1): a tempo track,
// the musician's track, then one track per band part with its name and General MIDI program,
// on the jam's musical clock (480 ticks per quarter, bar 0 at tick 0). And the atomic file
// replacement the recorder rewrites it with every second.
//
//   MidiTake take{.beats_per_bar = 4, .tempos = {{0, 100.0}}};
//   take.notes.push_back(tapped_note);
//   absl::Status s = replace_file_atomically("jam.mid",
//   realtime::serialize_midi(midi_file_of(take)));
//
// Thread safety: plain values and free functions.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "daemon/host/jam_host.h"
#include "daemon/jam/jam_state.h"
#include "realtime/midi/midi_file.h"

namespace jamd {

struct TakeTempo {
  int64_t tick = 0;
  double tempo_bpm = 120.0;
};

struct MidiTake {
  int beats_per_bar = 4;
  std::vector<TakeTempo> tempos;  // in tick order; the first at tick 0
  std::array<int, kNumParts> gm_programs = {0, 33, 0, 89, 81};
  std::vector<TappedNote> notes;  // heard (part -1) and generated, any order
};

// Track 0: tempo and metre; track 1: "musician" (channel 1); tracks 2..6: the parts in
// PartIndex order on their channels (drums on 10).
realtime::MidiFile midi_file_of(const MidiTake& take);

// Writes `bytes` to path + ".tmp", fsyncs it and renames it over `path`: a reader (or a crash)
// sees the old file or the new one, never half of one. The error names the path.
absl::Status replace_file_atomically(const std::string& path, std::span<const uint8_t> bytes);

}  // namespace jamd
