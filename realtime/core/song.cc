// Song: MIDI file → tick-ordered scheduler events, and the look-ahead feeder.
#include "realtime/core/song.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"

namespace jamd::realtime {
namespace {

struct Keyed {
  SongEvent event;
  size_t track;
  size_t index;
};

// Meta events become tempo or meter changes; channel messages become MIDI; the rest is skipped.
bool to_song_event(const MidiEvent& e, SongEvent& out) {
  out.tick = static_cast<int64_t>(e.tick);
  if (e.is_meta()) {
    if (e.meta_type == kMetaTempo && e.data.size() == 3) {
      const uint32_t us_per_quarter =
          (uint32_t{e.data[0]} << 16) | (uint32_t{e.data[1]} << 8) | e.data[2];
      if (us_per_quarter == 0) return false;
      out.kind = SongEvent::Kind::kTempo;
      out.tempo_bpm = 60'000'000.0 / us_per_quarter;
      return true;
    }
    if (e.meta_type == kMetaTimeSignature && e.data.size() >= 2 && e.data[1] < 8) {
      out.kind = SongEvent::Kind::kTimeSignature;
      out.time_signature = {e.data[0], 1 << e.data[1]};
      return out.time_signature.numerator > 0;
    }
    return false;
  }
  if (e.status < 0x80 || e.status > 0xEF) return false;  // sysex and system messages
  const int n_data = ((e.status & 0xF0) == 0xC0 || (e.status & 0xF0) == 0xD0) ? 1 : 2;
  if (static_cast<int>(e.data.size()) < n_data) return false;
  out.kind = SongEvent::Kind::kMidi;
  out.message.size = static_cast<uint8_t>(1 + n_data);
  out.message.bytes[0] = e.status;
  out.message.bytes[1] = e.data[0];
  out.message.bytes[2] = n_data == 2 ? e.data[1] : 0;
  return true;
}

}  // namespace

absl::StatusOr<Song> song_from_midi(const MidiFile& file) {
  Song song;
  song.ticks_per_quarter = file.ticks_per_quarter;
  std::vector<Keyed> all;
  for (size_t t = 0; t < file.tracks.size(); ++t) {
    const MidiTrack& track = file.tracks[t];
    song.end_tick = std::max(song.end_tick, static_cast<int64_t>(track.end_tick));
    for (size_t i = 0; i < track.events.size(); ++i) {
      SongEvent e;
      if (!to_song_event(track.events[i], e)) continue;
      song.end_tick = std::max(song.end_tick, e.tick);
      if (e.kind == SongEvent::Kind::kMidi && (e.message.bytes[0] & 0xF0) == 0x90 &&
          e.message.bytes[2] > 0) {
        ++song.n_notes;
      }
      all.push_back({e, t, i});
    }
  }
  if (song.n_notes == 0) {
    return absl::InvalidArgumentError("the MIDI file has no notes to play");
  }
  std::stable_sort(all.begin(), all.end(), [](const Keyed& a, const Keyed& b) {
    if (a.event.tick != b.event.tick) return a.event.tick < b.event.tick;
    return a.track != b.track ? a.track < b.track : a.index < b.index;
  });
  song.events.reserve(all.size());
  for (const Keyed& k : all) song.events.push_back(k.event);
  return song;
}

TempoMap Song::tempo_map(uint32_t sample_rate_hz) const {
  TempoMap map(sample_rate_hz, ticks_per_quarter);
  for (const SongEvent& e : events) {
    if (e.kind == SongEvent::Kind::kTempo) map.set_tempo(e.tick, e.tempo_bpm);
    if (e.kind == SongEvent::Kind::kTimeSignature) map.set_time_signature(e.tick, e.time_signature);
  }
  return map;
}

SongFeeder::SongFeeder(const Song& song, uint32_t sample_rate_hz)
    : song_(song), map_(song.tempo_map(sample_rate_hz)) {}

void SongFeeder::feed(Scheduler& scheduler, int64_t horizon_frame) {
  while (next_ < song_.events.size()) {
    const SongEvent& e = song_.events[next_];
    if (map_.frame_at(e.tick) >= horizon_frame) return;
    if (scheduler.free_command_slots() == 0) return;  // the RT thread will drain it
    bool posted = true;
    switch (e.kind) {
      case SongEvent::Kind::kMidi:
        posted = scheduler.schedule(e.tick, e.message);
        break;
      case SongEvent::Kind::kTempo:
        posted = scheduler.change_tempo(e.tick, e.tempo_bpm);
        break;
      case SongEvent::Kind::kTimeSignature:
        posted = scheduler.change_time_signature(e.tick, e.time_signature);
        break;
    }
    if (!posted) return;
    ++next_;
  }
}

}  // namespace jamd::realtime
