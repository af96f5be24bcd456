// MIDI events -> notes, bars and tempos.
#include "models/data/midi_score.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "models/vocab/vocabulary.h"

namespace jamd::models::data {
namespace {

using realtime::MidiEvent;
using realtime::MidiFile;

constexpr int kDrumChannel = 9;             // MIDI channel 10, counted from 0
constexpr double kDefaultTempoBpm = 120.0;  // the SMF default before any tempo event

struct TempoEvent {
  int64_t tick;
  double bpm;
};

std::vector<TempoEvent> tempo_events(const MidiFile& midi) {
  std::vector<TempoEvent> out;
  for (const realtime::MidiTrack& track : midi.tracks) {
    for (const MidiEvent& e : track.events) {
      if (e.is_meta() && e.meta_type == realtime::kMetaTempo && e.data.size() == 3) {
        const double us_per_quarter = (e.data[0] << 16) | (e.data[1] << 8) | e.data[2];
        if (us_per_quarter > 0) out.push_back({static_cast<int64_t>(e.tick), 6e7 / us_per_quarter});
      }
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const TempoEvent& a, const TempoEvent& b) { return a.tick < b.tick; });
  return out;
}

double tempo_at(const std::vector<TempoEvent>& tempos, int64_t tick) {
  double bpm = kDefaultTempoBpm;
  for (const TempoEvent& t : tempos) {
    if (t.tick > tick) break;
    bpm = t.bpm;
  }
  return bpm;
}

// Time-signature changes by tick (shifted); the metre in force from each tick on.
std::map<int64_t, TimeSignature> metre_changes(const MidiFile& midi, int64_t shift) {
  std::map<int64_t, TimeSignature> out;
  for (const realtime::MidiTrack& track : midi.tracks) {
    for (const MidiEvent& e : track.events) {
      if (e.is_meta() && e.meta_type == realtime::kMetaTimeSignature && e.data.size() >= 2 &&
          e.data[0] > 0 && e.data[1] < 7) {
        out[static_cast<int64_t>(e.tick) + shift] = TimeSignature{e.data[0], 1 << e.data[1]};
      }
    }
  }
  return out;
}

std::optional<Role> role_of(const MidiImport& import, size_t track, int channel) {
  if (import.track_roles.empty()) return channel == kDrumChannel ? Role::kDrums : Role::kKeys;
  if (track >= import.track_roles.size()) return std::nullopt;
  return import.track_roles[track];
}

}  // namespace

std::string track_name(const realtime::MidiTrack& track) {
  for (const MidiEvent& e : track.events) {
    if (e.is_meta() && e.meta_type == realtime::kMetaTrackName) {
      return std::string(e.data.begin(), e.data.end());
    }
  }
  return "";
}

int64_t seconds_to_ticks(const MidiFile& midi, double seconds) {
  const std::vector<TempoEvent> tempos = tempo_events(midi);
  double bpm = kDefaultTempoBpm;
  int64_t tick = 0;
  double elapsed_s = 0.0;
  for (const TempoEvent& t : tempos) {
    const double segment_s = (t.tick - tick) * 60.0 / (bpm * midi.ticks_per_quarter);
    if (elapsed_s + segment_s >= seconds) break;
    elapsed_s += segment_s;
    tick = t.tick;
    bpm = t.bpm;
  }
  return tick + std::llround((seconds - elapsed_s) * bpm * midi.ticks_per_quarter / 60.0);
}

namespace {

// Pairs note-ons with note-offs first in, first out, per track, channel and pitch; returns the
// last onset (-1 without notes).
int64_t collect_notes(const MidiFile& midi, const MidiImport& import, std::vector<Note>* notes) {
  std::map<std::tuple<size_t, int, int>, std::deque<Note>> sounding;
  int64_t last_onset = -1;
  for (size_t t = 0; t < midi.tracks.size(); ++t) {
    for (const MidiEvent& e : midi.tracks[t].events) {
      const int kind = e.status & 0xF0;
      if ((kind != 0x90 && kind != 0x80) || e.data.size() < 2) continue;
      const int channel = e.status & 0x0F;
      const std::optional<Role> role = role_of(import, t, channel);
      if (!role) continue;
      const int64_t tick = static_cast<int64_t>(e.tick) + import.shift_ticks;
      std::deque<Note>& queue = sounding[{t, channel, e.data[0]}];
      if (kind == 0x90 && e.data[1] > 0) {
        queue.push_back(Note{tick, 0, e.data[0], e.data[1], *role});
        last_onset = std::max(last_onset, tick);
      } else if (!queue.empty()) {
        Note n = queue.front();
        queue.pop_front();
        n.duration_ticks = std::max<int64_t>(tick - n.start_ticks, 1);
        if (n.start_ticks >= 0) notes->push_back(n);
      }
    }
  }
  // Notes never released last one beat.
  for (auto& [key, queue] : sounding) {
    for (Note n : queue) {
      n.duration_ticks = midi.ticks_per_quarter;
      if (n.start_ticks >= 0) notes->push_back(n);
    }
  }
  std::stable_sort(notes->begin(), notes->end(),
                   [](const Note& a, const Note& b) { return a.start_ticks < b.start_ticks; });
  return last_onset;
}

}  // namespace

absl::StatusOr<Score> midi_to_score(const MidiFile& midi, const MidiImport& import) {
  Score score;
  score.ticks_per_beat = midi.ticks_per_quarter;
  const int64_t last_onset = collect_notes(midi, import, &score.notes);

  const std::vector<TempoEvent> tempos = tempo_events(midi);
  const std::map<int64_t, TimeSignature> metres = metre_changes(midi, import.shift_ticks);
  TimeSignature metre = import.time_signature.value_or(TimeSignature{4, 4});
  int64_t tick = 0;
  // Onsets round to the nearest grid step, so bars reach one step past the last one.
  const int64_t covered = last_onset + midi.ticks_per_quarter / kGridPerBeat;
  while (tick <= covered) {
    if (!import.time_signature) {
      auto it = metres.upper_bound(tick);
      if (it != metres.begin()) metre = std::prev(it)->second;
    }
    const int64_t length = bar_length_ticks(metre, midi.ticks_per_quarter);
    if (length <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("time signature ", metre.numerator, "/",
                                                     metre.denominator, " gives empty bars at ",
                                                     midi.ticks_per_quarter, " ticks per quarter"));
    }
    score.bars.push_back(BarInfo{metre, tempo_at(tempos, tick - import.shift_ticks), {}});
    tick += length;
  }
  return score;
}

}  // namespace jamd::models::data
