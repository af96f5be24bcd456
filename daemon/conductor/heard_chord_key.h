// HeardChordKey: the musician's key read from the chords they play: the key whose diatonic chords
// cover the most recently heard chord-beats. The listener's key (from the pitch-class profile)
// is often confidently wrong in the first seconds (C G Am F is named G major at 4 s); the
// chords name the key from the first beat (docs/conductor.md, "The musician's key").
//
//   HeardChordKey key;
//   key.hear({0, realtime::ChordQuality::kMajor});   // a beat of C
//   key.hear({7, realtime::ChordQuality::kMajor});   // a beat of G
//   std::optional<realtime::Key> k = key.key();      // C major
//
// Thread safety: none (the conductor thread owns it).
#pragma once

#include <cstddef>
#include <deque>
#include <optional>

#include "realtime/listen/heard_event.h"

namespace jamd {

class HeardChordKey {
 public:
  // One beat of `chord`; "no chord" beats are not counted.
  void hear(const realtime::Chord& chord);
  // The key whose diatonic chords cover the most of the last kWindowBeats chord-beats. The key
  // named before keeps its place while it covers as many (C G Am F covers C major and A minor
  // alike); a first choice between equals goes to the key whose tonic chord came first, then to
  // the one whose tonic chord was heard longest, then to major. nullopt before any chord.
  std::optional<realtime::Key> key() const { return key_; }

  // 8 bars of 4/4: long enough that a progression's chords are all in it, short enough that a
  // change of key takes over within a few bars.
  static constexpr size_t kWindowBeats = 32;

 private:
  std::optional<realtime::Key> best_key() const;
  int covered_beats(const realtime::Key& key) const;

  std::deque<realtime::Chord> beats_;
  std::optional<realtime::Key> key_;
};

// Whether every tone of `chord` is in the key's scale (minor: the natural minor, and the major
// or dominant-seventh chord on the fifth degree, the harmonic minor's dominant).
bool diatonic(const realtime::Chord& chord, const realtime::Key& key);

}  // namespace jamd
