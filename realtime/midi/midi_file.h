// Standard MIDI Files (format 0 and 1): read from and write to bytes or paths.
//
//   absl::StatusOr<MidiFile> song = read_midi_file("take.mid");
//   if (!song.ok()) { /* the message names the file and what is wrong */ }
//   for (const MidiTrack& track : song->tracks)
//     for (const MidiEvent& e : track.events) { ... e.tick, e.status, e.data ... }
//   absl::Status s = write_midi_file("out.mid", *song);
//
// Thread safety: plain values and free functions; no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace jamd::realtime {

// One event of a track, at an absolute tick from the start of the track.
struct MidiEvent {
  uint64_t tick = 0;
  // Channel messages: the status byte (0x80..0xEF, channel in the low nibble) and 1-2 data bytes.
  // Meta events: status 0xFF, meta_type set, data holds the payload.
  // System exclusive: status 0xF0 or 0xF7, data holds the payload.
  uint8_t status = 0;
  uint8_t meta_type = 0;
  std::vector<uint8_t> data;

  bool is_meta() const { return status == 0xFF; }
  bool operator==(const MidiEvent&) const = default;
};

struct MidiTrack {
  std::vector<MidiEvent> events;  // in tick order; the end-of-track meta event is implicit
  // Tick of the end-of-track event when it comes after the last event (trailing silence, e.g. a
  // song that ends on a rest); 0 when the track ends at its last event.
  uint64_t end_tick = 0;
  bool operator==(const MidiTrack&) const = default;
};

struct MidiFile {
  int format = 1;               // 0 or 1 (format 2 is refused)
  int ticks_per_quarter = 480;  // SMPTE time division is refused with a clear error
  std::vector<MidiTrack> tracks;
  bool operator==(const MidiFile&) const = default;
};

// Meta event types the rest of jamd reads.
inline constexpr uint8_t kMetaTrackName = 0x03;
inline constexpr uint8_t kMetaEndOfTrack = 0x2F;
inline constexpr uint8_t kMetaTempo = 0x51;          // 3 bytes: microseconds per quarter note
inline constexpr uint8_t kMetaTimeSignature = 0x58;  // nn dd cc bb
inline constexpr uint8_t kMetaKeySignature = 0x59;   // sf mi

// Limits that keep a hostile file from exhausting memory; real songs are far below them.
inline constexpr size_t kMidiMaxFileBytes = 64u << 20;
inline constexpr int kMidiMaxTracks = 4096;
inline constexpr size_t kMidiMaxEvents = 4'000'000;  // over all tracks

// Errors name the byte offset, what is wrong and what to do; read_midi_file adds the path.
absl::StatusOr<MidiFile> parse_midi(std::span<const uint8_t> bytes);
absl::StatusOr<MidiFile> read_midi_file(const std::string& path);
// Ok when serialize_midi can write `file` faithfully: format 0 (one track) or 1, ticks per quarter
// in 1..32767, events in tick order, channel messages with their data bytes (< 0x80), no explicit
// end-of-track events. Every file parse_midi returns is valid.
absl::Status validate_midi(const MidiFile& file);
// Writes with running status and an end-of-track event per track. Asserts validate_midi(file).
std::vector<uint8_t> serialize_midi(const MidiFile& file);
// Validates, then writes; the error names the path.
absl::Status write_midi_file(const std::string& path, const MidiFile& file);

}  // namespace jamd::realtime
