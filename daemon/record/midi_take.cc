// MidiTake: notes on the jam's bar/beat clock -> a format 1 SMF; atomic file replacement.
#include "daemon/record/midi_take.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "daemon/conductor/jam_timeline.h"

namespace jamd {
namespace {

realtime::MidiEvent meta(uint64_t tick, uint8_t type, std::vector<uint8_t> data) {
  realtime::MidiEvent e;
  e.tick = tick;
  e.status = 0xFF;
  e.meta_type = type;
  e.data = std::move(data);
  return e;
}

realtime::MidiEvent channel_event(uint64_t tick, uint8_t status, std::vector<uint8_t> data) {
  realtime::MidiEvent e;
  e.tick = tick;
  e.status = status;
  e.data = std::move(data);
  return e;
}

std::vector<uint8_t> name_bytes(const std::string& name) { return {name.begin(), name.end()}; }

double tempo_at(const std::vector<TakeTempo>& tempos, int64_t tick) {
  double bpm = tempos.empty() ? 120.0 : tempos.front().tempo_bpm;
  for (const TakeTempo& t : tempos) {
    if (t.tick > tick) break;
    bpm = t.tempo_bpm;
  }
  return bpm;
}

// Note-offs before note-ons at one tick, so a repeated note is not cut by its predecessor.
void sort_track(realtime::MidiTrack& track) {
  std::stable_sort(track.events.begin(), track.events.end(),
                   [](const realtime::MidiEvent& a, const realtime::MidiEvent& b) {
                     if (a.tick != b.tick) return a.tick < b.tick;
                     const auto rank = [](const realtime::MidiEvent& e) {
                       if (e.is_meta()) return 0;
                       if ((e.status & 0xF0) == 0xC0) return 1;  // program first
                       return (e.status & 0xF0) == 0x80 ? 2 : 3;
                     };
                     return rank(a) < rank(b);
                   });
}

}  // namespace

realtime::MidiFile midi_file_of(const MidiTake& take) {
  realtime::MidiFile file;
  file.format = 1;
  file.ticks_per_quarter = kConductorTicksPerQuarter;
  realtime::MidiTrack tempo_track;
  tempo_track.events.push_back(meta(0, realtime::kMetaTrackName, name_bytes("jamd")));
  tempo_track.events.push_back(
      meta(0, realtime::kMetaTimeSignature,
           {static_cast<uint8_t>(take.beats_per_bar), 2 /* quarter */, 24, 8}));
  for (const TakeTempo& t : take.tempos) {
    const auto us = static_cast<uint32_t>(std::lround(60'000'000.0 / std::max(1.0, t.tempo_bpm)));
    tempo_track.events.push_back(meta(
        static_cast<uint64_t>(std::max<int64_t>(0, t.tick)), realtime::kMetaTempo,
        {static_cast<uint8_t>(us >> 16), static_cast<uint8_t>(us >> 8), static_cast<uint8_t>(us)}));
  }
  sort_track(tempo_track);
  file.tracks.push_back(std::move(tempo_track));

  // Track 1 + part: the musician, then the parts.
  std::vector<realtime::MidiTrack> tracks(1 + kNumParts);
  tracks[0].events.push_back(meta(0, realtime::kMetaTrackName, name_bytes("musician")));
  for (size_t p = 0; p < kNumParts; ++p) {
    realtime::MidiTrack& track = tracks[1 + p];
    track.events.push_back(meta(0, realtime::kMetaTrackName, name_bytes(kPartNames[p])));
    if (static_cast<int>(p) != kPartDrums) {
      track.events.push_back(
          channel_event(0, static_cast<uint8_t>(0xC0 | kPartChannel[p]),
                        {static_cast<uint8_t>(std::clamp(take.gm_programs[p], 0, 127))}));
    }
  }
  const int64_t bar_ticks = int64_t{take.beats_per_bar} * kConductorTicksPerQuarter;
  for (const TappedNote& n : take.notes) {
    if (n.part >= kNumParts || n.pitch < 0 || n.pitch > 127) continue;
    const int channel = n.part < 0 ? kHumanChannel : kPartChannel[static_cast<size_t>(n.part)];
    const int64_t tick =
        std::max<int64_t>(0, n.bar * bar_ticks + std::llround(n.beat * kConductorTicksPerQuarter));
    const double ticks_per_frame = tempo_at(take.tempos, tick) / 60.0 * kConductorTicksPerQuarter /
                                   std::max<uint32_t>(1, n.sample_rate_hz);
    const int64_t duration = std::max<int64_t>(
        1, std::llround(static_cast<double>(n.duration_frames) * ticks_per_frame));
    realtime::MidiTrack& track = tracks[static_cast<size_t>(n.part + 1)];
    track.events.push_back(channel_event(
        static_cast<uint64_t>(tick), static_cast<uint8_t>(0x90 | channel),
        {static_cast<uint8_t>(n.pitch), static_cast<uint8_t>(std::clamp(n.velocity, 1, 127))}));
    track.events.push_back(channel_event(static_cast<uint64_t>(tick + duration),
                                         static_cast<uint8_t>(0x80 | channel),
                                         {static_cast<uint8_t>(n.pitch), 0}));
  }
  for (realtime::MidiTrack& track : tracks) {
    sort_track(track);
    file.tracks.push_back(std::move(track));
  }
  return file;
}

absl::Status replace_file_atomically(const std::string& path, std::span<const uint8_t> bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write '", tmp, "': ", std::strerror(errno)));
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return absl::DataLossError(absl::StrCat("writing '", tmp, "': ", std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  // fsync before rename: after a power cut the name never points at an empty file.
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::DataLossError(absl::StrCat("replacing '", path, "': ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace jamd
