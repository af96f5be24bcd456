// Drum pairing: gives a POP909 song (pitched parts, no drums) a drum part made of Groove MIDI
// bars of a compatible metre and tempo, so that training sequences hold the whole band in every
// bar. Why: no staged corpus has drums beside pitched parts, and a model that learns them from
// different songs leaves the drum block empty beside chords (models/MODEL_CARD.md). The scheme
// and its limits: docs/vocabulary.md ("Drum pairing").
//
//   DrumPool pool;
//   pool.add(groove_score, entry);                        // every Groove performance, once
//   DrumPairing pairing = pair_drums(&song, pool, "train", "pop909/001", /*seed=*/1);
//   // song now has drums in every bar where it plays; pairing says which files and how
//
// Deterministic: the same pool (added in the same order), song, split, key and seed give the
// same drums. Thread safety: a DrumPool is immutable after the last add(); pair_drums only reads
// it, so it may run from many threads over one pool.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/data/corpora.h"
#include "models/tokenizer/score.h"

namespace jamd::models::data {

// Tempo ratios (drums' BPM over the song's) accepted, tried in this order: within 10 %, then
// within 25 %; a song with no performance of its metre and split inside 25 % stays without drums.
inline constexpr double kPairTempoTolerances[] = {0.10, 0.25};

// One Groove beat performance cut into bars, for pairing.
struct DrumSource {
  std::string name;  // the Groove midi_filename
  std::string style;
  std::string split;
  TimeSignature metre;
  double tempo_bpm = 120.0;
  int ticks_per_beat = 480;
  // Drum notes of each playing bar (bars without a drum onset are left out), ticks from the
  // bar's downbeat.
  std::vector<std::vector<Note>> bars;
};

class DrumPool {
 public:
  // Adds a Groove performance; fills ("fill" beat type), and performances without a playing bar
  // or with a metre change, are not added. Returns whether it was added.
  bool add(const Score& performance, const GrooveEntry& entry);
  const std::vector<DrumSource>& sources() const { return sources_; }

 private:
  std::vector<DrumSource> sources_;
};

// What pair_drums did to one song (recorded by jamd-prepare in pairing.tsv and metadata.json).
struct DrumPairing {
  bool paired = false;
  double song_tempo_bpm = 0.0;
  double tolerance = 0.0;            // the tolerance that found candidates
  int candidates = 0;                // performances within it
  int64_t drum_bars = 0;             // song bars that got drums
  std::vector<std::string> sources;  // performances used, in order
  std::string style;                 // the first performance's style, now every bar's style
};

// Adds drums to `song` (which must have none): candidates are the pool's performances of the same
// split and metre whose tempo is within the first tolerance that finds any; one is drawn by
// FNV-1a of (key, seed), its playing bars are laid over the song's bars in order, and when it
// runs out the next is drawn (same style first). Bars where the song has no note onset stay
// without drums (intros, endings). Drum ticks are scaled to the song's ticks per beat; the
// song's bar style becomes the drums' style and the controls are computed again.
DrumPairing pair_drums(Score* song, const DrumPool& pool, const std::string& split,
                       const std::string& key, uint64_t seed);

}  // namespace jamd::models::data
