// Small MIDI files built in code for the codec's tests and the fuzzer's seed corpus: every kind
// of event the parser reads (channel messages of each size, meta, sysex, trailing silence).
#pragma once

#include <cstdint>
#include <vector>

#include "realtime/midi/midi_file.h"

namespace jamd::realtime::midi_samples {

inline MidiEvent channel_event(uint64_t tick, uint8_t status, std::vector<uint8_t> data) {
  return MidiEvent{.tick = tick, .status = status, .meta_type = 0, .data = std::move(data)};
}

inline MidiEvent meta_event(uint64_t tick, uint8_t type, std::vector<uint8_t> data) {
  return MidiEvent{.tick = tick, .status = 0xFF, .meta_type = type, .data = std::move(data)};
}

// A conductor track: name, 4/4, C major, 120 BPM (500000 us per quarter).
inline MidiTrack conductor_track() {
  MidiTrack t;
  t.events = {meta_event(0, kMetaTrackName, {'s', 'o', 'n', 'g'}),
              meta_event(0, kMetaTimeSignature, {4, 2, 24, 8}),
              meta_event(0, kMetaKeySignature, {0, 0}),
              meta_event(0, kMetaTempo, {0x07, 0xA1, 0x20})};
  return t;
}

// One part on `channel`: program change, a run of notes (note-off as note-on velocity 0, so
// running status applies), a controller, pitch bend, channel pressure and a sysex.
inline MidiTrack part_track(uint8_t channel, uint8_t program, int n_notes) {
  MidiTrack t;
  t.events.push_back(channel_event(0, 0xC0 | channel, {program}));
  t.events.push_back(channel_event(0, 0xB0 | channel, {7, 100}));
  uint64_t tick = 0;
  for (int i = 0; i < n_notes; ++i) {
    const uint8_t pitch = static_cast<uint8_t>(48 + (i * 5 + channel) % 36);
    t.events.push_back(channel_event(tick, 0x90 | channel, {pitch, 90}));
    t.events.push_back(channel_event(tick + 100, 0x90 | channel, {pitch, 0}));
    tick += 120;
  }
  t.events.push_back(channel_event(tick, 0xE0 | channel, {0x00, 0x40}));
  t.events.push_back(channel_event(tick, 0xD0 | channel, {33}));
  t.events.push_back(MidiEvent{
      .tick = tick, .status = 0xF0, .meta_type = 0, .data = {0x7E, 0x7F, 0x09, 0x01, 0xF7}});
  t.events.push_back(channel_event(tick + 10, 0x80 | channel, {60, 64}));
  t.end_tick = tick + 480;  // a bar's worth of trailing silence
  return t;
}

// Format 1: a conductor track and `n_parts` parts on channels 0, 1, ...
inline MidiFile band_song(int n_parts, int n_notes) {
  MidiFile f;
  f.format = 1;
  f.ticks_per_quarter = 480;
  f.tracks.push_back(conductor_track());
  for (int i = 0; i < n_parts; ++i)
    f.tracks.push_back(part_track(static_cast<uint8_t>(i % 16), static_cast<uint8_t>(i), n_notes));
  return f;
}

// Format 0: everything on one track.
inline MidiFile single_track_song(int n_notes) {
  MidiFile f;
  f.format = 0;
  f.ticks_per_quarter = 96;
  f.tracks.push_back(part_track(3, 25, n_notes));
  MidiTrack conductor = conductor_track();
  f.tracks[0].events.insert(f.tracks[0].events.begin(), conductor.events.begin(),
                            conductor.events.end());
  return f;
}

}  // namespace jamd::realtime::midi_samples
