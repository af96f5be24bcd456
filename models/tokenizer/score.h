// The score the tokenizer reads and writes: notes by role, bars with metre, tempo and controls,
// and chord spans. Independent of MIDI (the data-prep tool converts MIDI files into scores).
//
//   Score score;
//   score.ticks_per_beat = 480;
//   score.bars.push_back(BarInfo{.time_signature = {4, 4}, .tempo_bpm = 96.0});
//   score.notes.push_back(Note{.start_ticks = 0, .duration_ticks = 480, .pitch = 60,
//                              .velocity = 90, .role = Role::kKeys});
//   score.chords.push_back(ChordSpan{.start_ticks = 0, .root_pitch_class = 0,
//                                    .quality = ChordQuality::kMaj});
//
// Thread safety: plain values; no shared state.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace jamd::models {

// The parts of the band, in the order their blocks appear in every bar (docs/vocabulary.md).
enum class Role : uint8_t { kDrums, kBass, kKeys, kPad, kLead, kHuman };
inline constexpr int kNumRoles = 6;
inline constexpr int kNumBandRoles = 5;  // every role but the human
const char* role_name(Role role);        // "drums", "bass", ...

enum class ChordQuality : uint8_t { kMaj, kMin, kDom7, kMin7, kMaj7, kDim };
inline constexpr int kNumChordQualities = 6;
const char* chord_quality_name(ChordQuality quality);  // "maj", "min", "7", "min7", "maj7", "dim"

// A control the user (or control dropout) left open.
inline constexpr int kAnyClass = -1;

// Per-bar controls, as classes (docs/vocabulary.md gives each scale); kAnyClass when unset.
struct BarControls {
  std::array<int, kNumBandRoles> density_class = {kAnyClass, kAnyClass, kAnyClass, kAnyClass,
                                                  kAnyClass};
  int energy_class = kAnyClass;
  int valence_class = kAnyClass;
  int style = kAnyClass;  // index into kStyleNames (models/vocab/vocabulary.h)
  int key = kAnyClass;    // tonic pitch class + 12 * minor: 0 = C major, 21 = A minor
  bool operator==(const BarControls&) const = default;
};

struct TimeSignature {
  int numerator = 4;
  int denominator = 4;
  bool operator==(const TimeSignature&) const = default;
};

struct BarInfo {
  TimeSignature time_signature;
  double tempo_bpm = 120.0;  // quarter notes per minute at the bar's downbeat
  BarControls controls;
  bool operator==(const BarInfo&) const = default;
};

struct Note {
  int64_t start_ticks = 0;
  int64_t duration_ticks = 0;
  int pitch = 60;      // MIDI note number; for drums the General MIDI drum key
  int velocity = 100;  // 1..127
  Role role = Role::kKeys;
  bool operator==(const Note&) const = default;
};

// A chord that sounds from start_ticks until the next span; root_pitch_class -1 means no chord.
struct ChordSpan {
  int64_t start_ticks = 0;
  int root_pitch_class = -1;
  ChordQuality quality = ChordQuality::kMaj;
  bool operator==(const ChordSpan&) const = default;
};

// Bars follow each other from tick 0; notes and chords hold absolute ticks. Before the first
// chord span there is no chord.
struct Score {
  int ticks_per_beat = 480;  // ticks per quarter note
  std::vector<BarInfo> bars;
  std::vector<Note> notes;
  std::vector<ChordSpan> chords;
  bool operator==(const Score&) const = default;
};

// Ticks in one bar of `time_signature` (a beat is a quarter note).
int64_t bar_length_ticks(const TimeSignature& time_signature, int ticks_per_beat);
// Start tick of each bar, plus one entry for the end of the last bar.
std::vector<int64_t> bar_start_ticks(const Score& score);
// A one-line description for test failures and logs: "C:maj", "N".
std::string chord_name(const ChordSpan& chord);

}  // namespace jamd::models
