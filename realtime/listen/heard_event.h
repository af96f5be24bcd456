// HeardEvent: what the listener heard (onsets, beats with tempo, notes, chords per beat, keys,
// silence), each stamped on the input's sample clock with a confidence; and the chord and key
// names every part of jamd prints.
//
//   HeardEvent e = ...;                        // from Listener::drain()
//   if (e.kind == HeardKind::kChord) printf("%s\n", chord_name(e.chord).c_str());   // "A:min7"
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>

namespace jamd::realtime {

enum class HeardKind : uint8_t {
  kOnset,   // a new sound started (audio) or a note-on (MIDI)
  kBeat,    // a beat of the pulse, with the tempo around it
  kNoBeat,  // the pulse is lost (silence, or no steady pulse): no beats until kBeat again
  kNoteOn,  // a note: pitch and velocity (audio: monophonic pitch tracking)
  kNoteOff,
  kChord,    // the chord of the beat that starts at `frame` (may be "no chord")
  kKey,      // the key over the last bars
  kSilence,  // the input fell silent at `frame`
  kSound,    // sound again after silence
};

enum class HeardSource : uint8_t { kAudio, kMidi, kMidiClock };

enum class ChordQuality : uint8_t {
  kNone,  // "no chord": silence, noise or a single line with no harmony
  kMajor,
  kMinor,
  kDominant7,
  kMinor7,
  kMajor7,
  kDiminished,
};
inline constexpr int kChordQualities = 7;  // kNone included

struct Chord {
  int root_pc = -1;  // pitch class 0 (C) .. 11 (B); -1 with kNone
  ChordQuality quality = ChordQuality::kNone;
  bool operator==(const Chord&) const = default;
};

struct Key {
  int tonic_pc = -1;  // -1: no key (nothing heard yet)
  bool minor = false;
  bool operator==(const Key&) const = default;
};

struct HeardEvent {
  HeardKind kind = HeardKind::kOnset;
  HeardSource source = HeardSource::kAudio;
  int64_t frame = 0;          // when it happened, on the input's sample clock
  int64_t decided_frame = 0;  // when the listener knew it (>= frame): the latency is the gap
  float confidence = 0.0f;    // 0..1
  float tempo_bpm = 0.0f;     // kBeat
  int64_t beat_index = 0;     // kBeat, kChord: beats counted from the first since the last lock
                              // (kChord: -1 for a MIDI chord struck before any pulse is known)
  int pitch = -1;             // kNoteOn / kNoteOff: MIDI key
  int velocity = 0;           // kNoteOn
  Chord chord;                // kChord
  Key key;                    // kKey
};

// "C:maj", "F#:min", "G:7", "A:min7", "F:maj7", "B:dim", or "N" for no chord (MIREX style).
std::string chord_name(Chord chord);
// "C major", "F# minor", or "none".
std::string key_name(Key key);
const char* pitch_class_name(int pc);         // "C", "C#", ... "B"
const char* heard_kind_name(HeardKind kind);  // "onset", "beat", ...
// Pitch classes of a chord relative to its root, e.g. {0, 4, 7, 10} for kDominant7.
int chord_intervals(ChordQuality quality, int out_intervals[4]);

}  // namespace jamd::realtime
