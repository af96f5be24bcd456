// Names of chords, keys and heard events.
#include "realtime/listen/heard_event.h"

#include <cassert>

namespace jamd::realtime {

const char* pitch_class_name(int pc) {
  static constexpr const char* kNames[12] = {"C",  "C#", "D",  "D#", "E",  "F",
                                             "F#", "G",  "G#", "A",  "A#", "B"};
  assert(pc >= 0 && pc < 12);
  return kNames[pc];
}

int chord_intervals(ChordQuality quality, int out[4]) {
  switch (quality) {
    case ChordQuality::kNone:
      return 0;
    case ChordQuality::kMajor:
      out[0] = 0, out[1] = 4, out[2] = 7;
      return 3;
    case ChordQuality::kMinor:
      out[0] = 0, out[1] = 3, out[2] = 7;
      return 3;
    case ChordQuality::kDominant7:
      out[0] = 0, out[1] = 4, out[2] = 7, out[3] = 10;
      return 4;
    case ChordQuality::kMinor7:
      out[0] = 0, out[1] = 3, out[2] = 7, out[3] = 10;
      return 4;
    case ChordQuality::kMajor7:
      out[0] = 0, out[1] = 4, out[2] = 7, out[3] = 11;
      return 4;
    case ChordQuality::kDiminished:
      out[0] = 0, out[1] = 3, out[2] = 6;
      return 3;
  }
  return 0;
}

std::string chord_name(Chord chord) {
  if (chord.quality == ChordQuality::kNone || chord.root_pc < 0) return "N";
  const char* suffix = "";
  switch (chord.quality) {
    case ChordQuality::kNone:
      break;
    case ChordQuality::kMajor:
      suffix = ":maj";
      break;
    case ChordQuality::kMinor:
      suffix = ":min";
      break;
    case ChordQuality::kDominant7:
      suffix = ":7";
      break;
    case ChordQuality::kMinor7:
      suffix = ":min7";
      break;
    case ChordQuality::kMajor7:
      suffix = ":maj7";
      break;
    case ChordQuality::kDiminished:
      suffix = ":dim";
      break;
  }
  return std::string(pitch_class_name(chord.root_pc)) + suffix;
}

std::string key_name(Key key) {
  if (key.tonic_pc < 0) return "none";
  return std::string(pitch_class_name(key.tonic_pc)) + (key.minor ? " minor" : " major");
}

const char* heard_kind_name(HeardKind kind) {
  switch (kind) {
    case HeardKind::kOnset:
      return "onset";
    case HeardKind::kBeat:
      return "beat";
    case HeardKind::kNoBeat:
      return "no_beat";
    case HeardKind::kNoteOn:
      return "note_on";
    case HeardKind::kNoteOff:
      return "note_off";
    case HeardKind::kChord:
      return "chord";
    case HeardKind::kKey:
      return "key";
    case HeardKind::kSilence:
      return "silence";
    case HeardKind::kSound:
      return "sound";
  }
  return "?";
}

}  // namespace jamd::realtime
