// Readers for the staged training corpora (../shared/data): POP909 songs with their chord, key
// and downbeat annotations, and Groove MIDI performances with their info.csv labels. Each
// returns a Score with roles, chords, key, style and computed controls. Roles and mappings:
// docs/vocabulary.md ("Data preparation").
//
//   absl::StatusOr<Score> song = load_pop909_song("/tmp/x/POP909/001");
//   absl::StatusOr<std::vector<GrooveEntry>> index = read_groove_index("/tmp/x/groove/info.csv");
//   absl::StatusOr<Score> beat = load_groove_performance("/tmp/x/groove", (*index)[0]);
//
// Thread safety: free functions; safe from any thread.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "models/tokenizer/score.h"

namespace jamd::models::data {

// Pitches below this may become bass when they are the lowest sounding piano note (C4).
inline constexpr int kBassMaxPitch = 60;

// A POP909 song folder (NNN.mid, chord_midi.txt, key_audio.txt, beat_midi.txt).
absl::StatusOr<Score> load_pop909_song(const std::string& song_dir);

// Moves each piano note that is the lowest note sounding at its onset, and below kBassMaxPitch,
// from keys to bass.
void split_piano_bass(Score* score);

// A Harte-style chord label ("C#:maj", "Bb:min7", "G:maj/3", "N") -> span fields; qualities
// outside the vocabulary map to the nearest (sus and aug -> maj, hdim7 -> min7, dim7 -> dim).
absl::StatusOr<ChordSpan> parse_harte_chord(absl::string_view label);

struct GrooveEntry {
  std::string midi_filename;  // relative to the groove folder
  std::string style;          // primary style ("funk" of "funk/groove1")
  std::string split;          // train, validation or test
  TimeSignature time_signature;
  bool fill = false;
};
absl::StatusOr<std::vector<GrooveEntry>> read_groove_index(const std::string& info_csv_path);
absl::StatusOr<Score> load_groove_performance(const std::string& groove_dir,
                                              const GrooveEntry& entry);

// A Nottingham tune (GPL-3; only behind jamd-prepare --include-nottingham): melody track -> lead,
// chord track -> keys with its lowest voice as bass; chords estimated from the chord track, key
// from the key-signature event (estimated when absent), style folk.
absl::StatusOr<Score> load_nottingham_tune(const std::string& midi_path);

// Roland TD-11 note numbers in Groove that General MIDI names differently -> the GM drum key.
int groove_to_gm_drum(int pitch);

// Every pitched part, chord and key moved by `semitones`; notes leaving 0..127 are dropped.
Score transpose(const Score& score, int semitones);

// The corpora have no live musician: this makes one. `part`'s notes become the human's, its block
// stays empty, and the controls are computed again (its density becomes 0, as for a disabled
// part).
void play_as_human(Score* score, Role part);

}  // namespace jamd::models::data
