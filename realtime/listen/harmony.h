// Harmony from pitch-class profiles: the chord a chroma vector sounds like (template matching
// over 12 roots x {maj, min, 7, min7, maj7, dim} plus "no chord") and the key of a longer
// profile (Krumhansl-Kessler key profiles).
//
//   Chroma c{};  c[0] = 1; c[4] = 0.8f; c[7] = 0.9f;               // C E G
//   ChordGuess g = guess_chord(c, ChromaKind::kSymbolic);           // C:maj, confidence ~1
//   KeyGuess k = guess_key(long_window_chroma);
//
// Thread safety: pure functions over values.
#pragma once

#include <array>
#include <vector>

#include "realtime/listen/heard_event.h"

namespace jamd::realtime {

using Chroma = std::array<float, 12>;  // energy per pitch class, C first; any scale

// Audio chroma carries overtones (the 3rd harmonic is a fifth up, the 5th a major third), so its
// templates include them; symbolic chroma (MIDI notes) matches plain chord tones.
enum class ChromaKind { kAudio, kSymbolic };

struct ChordGuess {
  Chord chord;
  float confidence = 0.0f;  // 0..1: the margin of the best template over the runner-up
  float similarity = 0.0f;  // cosine similarity of the best template
};

struct KeyGuess {
  Key key;
  float confidence = 0.0f;  // 0..1; low while more than one key's scale holds every note heard
  float correlation = 0.0f;
};

// bass: the energy per pitch class of the lowest sounding notes (may be all zero); it breaks
// ties between chords that share notes (C6 vs A:min7) in favour of the root in the bass.
ChordGuess guess_chord(const Chroma& chroma, ChromaKind kind, const Chroma* bass = nullptr);
KeyGuess guess_key(const Chroma& chroma);
// How well `chroma` fits one chord's template (cosine similarity, 0..1; 0 for "no chord").
float chord_fit(const Chroma& chroma, Chord chord, ChromaKind kind);

// ChordFollower: the chord per beat as a causal hidden Markov filter over the 72 chords and
// "no chord". Chords usually last several beats, so a beat that shows only part of a chord (two
// notes of an arpeggio) keeps the chord it fits, while a beat that clearly contradicts it
// switches at once.
//
// It also learns the song's chord vocabulary as it goes: each finished chord (a run of beats on
// one root, named by the quality that explains all its beats together) makes a later change to that
// chord likelier. Songs repeat their progressions, and the first beat of a chord often shows
// only part of it: an arpeggiated A:7 plays A and C# first, its seventh a beat later, so the
// second time round the follower answers A:7 at once instead of A:maj.
//
//   ChordFollower follower;
//   ChordGuess g = follower.update(beat_chroma, ChromaKind::kAudio, &beat_bass);
//   follower.silence();   // a silent beat: "no chord", and the memory is cleared
class ChordFollower {
 public:
  ChordFollower();
  ChordGuess update(const Chroma& chroma, ChromaKind kind, const Chroma* bass);
  ChordGuess silence();

  static constexpr int kStates = 12 * 6 + 1;  // the last state is "no chord"

 private:
  void learn(size_t best, const Chroma& beat, ChromaKind kind);

  std::array<float, kStates> belief_{};
  std::array<float, kStates> vocabulary_{};  // decayed count of finished chords per state
  // The current run of beats on one root: its root (-1: none) and what it has sounded.
  int run_root_ = -1;
  ChromaKind run_kind_ = ChromaKind::kAudio;
  Chroma run_chroma_{};
  Chroma last_beat_{};  // the audio beat before, compressed: what arrives in this one
};

}  // namespace jamd::realtime
