// Song: a Standard MIDI File flattened into one tick-ordered list of what the scheduler plays
// (channel messages, tempo and meter changes), and the feeder that posts it to a scheduler a
// little ahead of the playhead so the bounded event store never has to hold the whole song.
//
//   absl::StatusOr<Song> song = song_from_midi(*read_midi_file("demo.mid"));
//   Scheduler sched({.ticks_per_quarter = song->ticks_per_quarter});
//   SongFeeder feeder(*song, 48000);
//   feeder.feed(sched, playhead_frame + horizon_frames);   // thread: producer, repeatedly
//
// Thread safety: Song is a plain value. A SongFeeder belongs to the scheduler's producer thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "realtime/core/scheduler.h"
#include "realtime/core/tempo_map.h"
#include "realtime/midi/midi_file.h"

namespace jamd::realtime {

struct SongEvent {
  enum class Kind : uint8_t { kMidi, kTempo, kTimeSignature };
  Kind kind = Kind::kMidi;
  int64_t tick = 0;
  MidiMessage message{};           // kMidi
  double tempo_bpm = 0.0;          // kTempo
  TimeSignature time_signature{};  // kTimeSignature
};

struct Song {
  int ticks_per_quarter = 480;
  std::vector<SongEvent> events;  // by tick; at one tick, in track order then file order
  int64_t end_tick = 0;           // the last event or end-of-track, whichever is later
  size_t n_notes = 0;

  // The file's tempo map (MIDI's defaults, 120 BPM and 4/4, until its first change).
  TempoMap tempo_map(uint32_t sample_rate_hz) const;
};

// Errors: a file with no notes at all ("nothing to play").
absl::StatusOr<Song> song_from_midi(const MidiFile& file);

class SongFeeder {
 public:
  SongFeeder(const Song& song, uint32_t sample_rate_hz);

  // Posts every not-yet-posted event that sounds before horizon_frame, in order; stops early
  // (and resumes next call) when the scheduler's queue is full. thread: producer
  void feed(Scheduler& scheduler, int64_t horizon_frame);
  bool done() const { return next_ == song_.events.size(); }
  // Where the song ends on the sample clock.
  int64_t end_frame() const { return map_.frame_at(song_.end_tick); }
  const TempoMap& tempo_map() const { return map_; }

 private:
  const Song& song_;
  TempoMap map_;
  size_t next_ = 0;
};

}  // namespace jamd::realtime
