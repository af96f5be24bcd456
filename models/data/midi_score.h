// Standard MIDI File -> Score for data preparation: note pairing, bars from the time-signature
// events, tempo per bar, roles per track. Lives in the data tool because models/ must not
// depend on realtime/ (the MIDI codec).
//
//   MidiImport import;
//   import.track_roles = {std::nullopt, Role::kLead, Role::kPad, Role::kKeys};
//   absl::StatusOr<Score> score = midi_to_score(*midi, import);
//
// Thread safety: free functions over values; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/tokenizer/score.h"
#include "realtime/midi/midi_file.h"

namespace jamd::models::data {

struct MidiImport {
  // Role of each track by index; a track without an entry (or nullopt) is left out. Empty:
  // channel 10 notes are drums, all other notes keys.
  std::vector<std::optional<Role>> track_roles;
  // Added to every event time, so that the first downbeat falls on a bar line.
  int64_t shift_ticks = 0;
  // When set, every bar gets this metre instead of the file's time-signature events.
  std::optional<TimeSignature> time_signature;
};

// The notes and bars of `midi`. Bars start at tick 0, follow the time-signature events (4/4 when
// there are none) and cover every note onset. The score keeps the file's ticks per quarter.
absl::StatusOr<Score> midi_to_score(const realtime::MidiFile& midi, const MidiImport& import);

// The name in a track's first track-name event, or "".
std::string track_name(const realtime::MidiTrack& track);

// Seconds from the start of the file -> ticks, through the file's tempo events (120 BPM before
// the first one).
int64_t seconds_to_ticks(const realtime::MidiFile& midi, double seconds);

}  // namespace jamd::models::data
