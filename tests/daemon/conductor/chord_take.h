// A keyboard player with known chords, as a MIDI file: root-position triads around middle C struck
// on every beat (0.9 beat long, velocity 90). The ground-truth take of the conductor's tests and
// of bench/jam_reaction_bench.
//
//   std::vector<TakeChord> chords = {{0, false, 4}, {7, false, 4}};  // C for a bar, then G
//   realtime::MidiFile take = block_chord_take(100.0, chords, /*total_beats=*/16);
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <utility>

#include "realtime/midi/midi_file.h"

namespace jamd {

struct TakeChord {
  int root_pitch_class = 0;
  bool minor = false;
  int beats = 4;  // struck on each of them
};

// 4/4 at `tempo_bpm`, 480 ticks a quarter; the chords one after the other, then silence up to
// `total_beats`.
inline realtime::MidiFile block_chord_take(double tempo_bpm, std::span<const TakeChord> chords,
                                           int total_beats) {
  constexpr int kTpq = 480;
  realtime::MidiFile midi;
  midi.format = 0;
  midi.ticks_per_quarter = kTpq;
  realtime::MidiTrack track;
  const auto us = static_cast<uint32_t>(60'000'000.0 / tempo_bpm + 0.5);
  track.events.push_back(
      {0,
       0xFF,
       realtime::kMetaTempo,
       {static_cast<uint8_t>(us >> 16), static_cast<uint8_t>(us >> 8), static_cast<uint8_t>(us)}});
  track.events.push_back({0, 0xFF, realtime::kMetaTimeSignature, {4, 2, 24, 8}});
  int beat = 0;
  for (const TakeChord& c : chords) {
    const int pitches[3] = {60 + c.root_pitch_class, 60 + c.root_pitch_class + (c.minor ? 3 : 4),
                            60 + c.root_pitch_class + 7};
    for (int i = 0; i < c.beats; ++i, ++beat) {
      const auto on = static_cast<uint64_t>(beat * kTpq);
      for (int p : pitches) track.events.push_back({on, 0x90, 0, {static_cast<uint8_t>(p), 90}});
      for (int p : pitches) {
        track.events.push_back({on + kTpq * 9 / 10, 0x80, 0, {static_cast<uint8_t>(p), 0}});
      }
    }
  }
  track.end_tick = static_cast<uint64_t>(std::max(beat, total_beats) * kTpq);
  midi.tracks.push_back(std::move(track));
  return midi;
}

}  // namespace jamd
