// Standard MIDI File codec: a bounds-checked parser for hostile input (format 0 and 1, running
// status, meta and sysex events, unknown chunks skipped) and a writer with running status.
#include "realtime/midi/midi_file.h"

#include <cassert>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"

namespace jamd::realtime {
namespace {

// The largest variable-length quantity the standard allows: 4 bytes of 7 bits.
constexpr uint32_t kMaxVlq = 0x0FFFFFFF;
constexpr size_t kHeaderBytes = 14;  // "MThd", length 6, format, track count, division
constexpr size_t kChunkHeaderBytes = 8;
constexpr int kMaxTicksPerQuarter = 0x7FFF;  // bit 15 of the division word selects SMPTE

constexpr const char* kDamagedAdvice =
    "the file is damaged or is not a Standard MIDI File; export it again from the program that "
    "made it";
constexpr const char* kTruncatedAdvice = "the file is cut short; download or export it again";

absl::Status damaged(size_t offset, const std::string& what) {
  return absl::InvalidArgumentError(
      absl::StrCat("byte ", offset, ": ", what, "; ", kDamagedAdvice));
}

absl::Status truncated(size_t offset, const std::string& what) {
  return absl::InvalidArgumentError(
      absl::StrCat("byte ", offset, ": ", what, "; ", kTruncatedAdvice));
}

std::string hex_byte(uint8_t b) {
  constexpr char kDigits[] = "0123456789ABCDEF";
  return std::string{'0', 'x', kDigits[b >> 4], kDigits[b & 0xF]};
}

// Number of data bytes that follow a channel status byte (0x80..0xEF).
size_t channel_data_bytes(uint8_t status) {
  const uint8_t kind = status & 0xF0;
  return (kind == 0xC0 || kind == 0xD0) ? 1 : 2;
}

// Reads big-endian integers and variable-length quantities from a span, never past its end.
// Offsets are reported relative to the whole file.
class ByteReader {
 public:
  ByteReader(std::span<const uint8_t> bytes, size_t file_offset)
      : bytes_(bytes), file_offset_(file_offset) {}

  size_t offset() const { return file_offset_ + pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }
  uint8_t peek() const {
    assert(pos_ < bytes_.size());
    return bytes_[pos_];
  }
  uint8_t take_u8() {
    assert(pos_ < bytes_.size());
    return bytes_[pos_++];
  }
  uint32_t take_u16() {
    assert(remaining() >= 2);
    const uint32_t v = (uint32_t{bytes_[pos_]} << 8) | bytes_[pos_ + 1];
    pos_ += 2;
    return v;
  }
  uint32_t take_u32() {
    assert(remaining() >= 4);
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | bytes_[pos_++];
    return v;
  }
  std::span<const uint8_t> take(size_t n) {
    assert(n <= remaining());
    std::span<const uint8_t> out = bytes_.subspan(pos_, n);
    pos_ += n;
    return out;
  }

  // Reads a variable-length quantity of at most 4 bytes.
  absl::Status take_vlq(const char* what, uint32_t* value) {
    const size_t start = offset();
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      if (remaining() == 0) return truncated(start, absl::StrCat(what, " runs past the chunk end"));
      const uint8_t b = take_u8();
      v = (v << 7) | (b & 0x7F);
      if ((b & 0x80) == 0) {
        *value = v;
        return absl::OkStatus();
      }
    }
    return damaged(start, absl::StrCat(what, " is longer than the 4 bytes the standard allows"));
  }

 private:
  std::span<const uint8_t> bytes_;
  size_t file_offset_;
  size_t pos_ = 0;
};

struct Header {
  int format = 0;
  int n_tracks = 0;
  int ticks_per_quarter = 0;
};

absl::StatusOr<Header> parse_header(ByteReader& r) {
  if (r.remaining() < 4 || std::memcmp(r.take(4).data(), "MThd", 4) != 0)
    return damaged(0, "no 'MThd' header at the start");
  if (r.remaining() < kHeaderBytes - 4) return truncated(4, "the 'MThd' header is incomplete");
  const uint32_t length = r.take_u32();
  if (length < 6) return damaged(4, absl::StrCat("'MThd' length is ", length, ", not 6"));
  if (length > r.remaining())
    return truncated(
        4, absl::StrCat("'MThd' declares ", length, " bytes but only ", r.remaining(), " remain"));
  Header h;
  h.format = static_cast<int>(r.take_u16());
  h.n_tracks = static_cast<int>(r.take_u16());
  const uint32_t division = r.take_u16();
  r.take(length - 6);  // a longer header is allowed; the extra bytes are for future use

  if (h.format == 2)
    return absl::UnimplementedError(
        "byte 8: format 2 (independent sequences) is not supported; save it as format 1 in a MIDI "
        "editor");
  if (h.format > 2) return damaged(8, absl::StrCat("unknown format ", h.format));
  if (h.n_tracks == 0) return damaged(10, "the header declares no tracks");
  if (h.n_tracks > kMidiMaxTracks)
    return damaged(10, absl::StrCat("the header declares ", h.n_tracks, " tracks, more than the ",
                                    kMidiMaxTracks, " jamd reads"));
  if (h.format == 0 && h.n_tracks != 1)
    return damaged(
        10, absl::StrCat("format 0 holds exactly one track, but the header declares ", h.n_tracks));
  if (division & 0x8000)
    return absl::UnimplementedError(
        "byte 12: SMPTE time division is not supported; save the file with metrical timing "
        "(ticks per quarter note)");
  if (division == 0) return damaged(12, "0 ticks per quarter note");
  h.ticks_per_quarter = static_cast<int>(division);
  return h;
}

// Reads the data of one event whose status byte (explicit or running) is already known.
absl::Status read_event_data(ByteReader& r, size_t event_offset, MidiEvent* event) {
  const uint8_t status = event->status;
  if (status < 0xF0) {
    const size_t n = channel_data_bytes(status);
    if (r.remaining() < n)
      return truncated(event_offset, absl::StrCat("channel message ", hex_byte(status),
                                                  " is missing its data bytes"));
    for (uint8_t b : r.take(n)) {
      if (b >= 0x80)
        return damaged(event_offset, absl::StrCat("channel message ", hex_byte(status),
                                                  " has data byte ", hex_byte(b), " >= 0x80"));
      event->data.push_back(b);
    }
    return absl::OkStatus();
  }
  if (status != 0xFF && status != 0xF0 && status != 0xF7)
    return damaged(event_offset, absl::StrCat("status ", hex_byte(status),
                                              " is a system message that cannot appear in a "
                                              "MIDI file"));
  if (status == 0xFF) {
    if (r.remaining() == 0) return truncated(event_offset, "a meta event has no type byte");
    event->meta_type = r.take_u8();
  }
  uint32_t length = 0;
  if (absl::Status s = r.take_vlq("an event length", &length); !s.ok()) return s;
  if (length > r.remaining())
    return truncated(event_offset,
                     absl::StrCat("event ", hex_byte(status), " declares ", length,
                                  " bytes but only ", r.remaining(), " remain in the track"));
  std::span<const uint8_t> payload = r.take(length);
  event->data.assign(payload.begin(), payload.end());
  return absl::OkStatus();
}

// Parses the body of one 'MTrk' chunk; `n_events` counts events over the whole file.
absl::Status parse_track(ByteReader r, MidiTrack* track, size_t* n_events) {
  uint8_t running_status = 0;
  uint64_t tick = 0;
  while (r.remaining() > 0) {
    uint32_t delta = 0;
    if (absl::Status s = r.take_vlq("a delta time", &delta); !s.ok()) return s;
    tick += delta;
    if (r.remaining() == 0)
      return truncated(r.offset(), "a delta time is not followed by an event");
    const size_t event_offset = r.offset();
    MidiEvent event;
    event.tick = tick;
    event.status = r.peek();
    if (event.status < 0x80) {
      // Running status: a data byte repeats the previous channel status. Kept across meta and
      // sysex events, which many writers do even though the standard says they cancel it.
      if (running_status == 0)
        return damaged(event_offset, absl::StrCat("data byte ", hex_byte(event.status),
                                                  " with no status byte before it"));
      event.status = running_status;
    } else {
      r.take_u8();
    }
    if (absl::Status s = read_event_data(r, event_offset, &event); !s.ok()) return s;
    if (event.status < 0xF0) running_status = event.status;
    if (event.is_meta() && event.meta_type == kMetaEndOfTrack) {
      // Anything after end-of-track in the chunk is padding and ignored.
      const uint64_t last_tick = track->events.empty() ? 0 : track->events.back().tick;
      track->end_tick = tick > last_tick ? tick : 0;
      return absl::OkStatus();
    }
    if (++*n_events > kMidiMaxEvents)
      return absl::ResourceExhaustedError(
          absl::StrCat("byte ", event_offset, ": more than ", kMidiMaxEvents,
                       " events, far more than a song has; split the file or check what wrote it"));
    track->events.push_back(std::move(event));
  }
  return absl::OkStatus();  // a missing end-of-track is tolerated: the chunk length ends it
}

void put_u16(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void put_vlq(std::vector<uint8_t>& out, uint64_t v) {
  assert(v <= kMaxVlq);
  uint8_t groups[4];
  int n = 0;
  do {
    groups[n++] = static_cast<uint8_t>(v & 0x7F);
    v >>= 7;
  } while (v != 0);
  while (n > 1) out.push_back(groups[--n] | 0x80);
  out.push_back(groups[0]);
}

void serialize_track(const MidiTrack& track, std::vector<uint8_t>& out) {
  out.insert(out.end(), {'M', 'T', 'r', 'k', 0, 0, 0, 0});
  const size_t body_start = out.size();
  uint8_t running_status = 0;
  uint64_t tick = 0;
  for (const MidiEvent& e : track.events) {
    put_vlq(out, e.tick - tick);
    tick = e.tick;
    if (e.status < 0xF0) {
      if (e.status != running_status) out.push_back(e.status);
      running_status = e.status;
    } else {
      // Readers that follow the standard cancel running status at meta and sysex events.
      running_status = 0;
      out.push_back(e.status);
      if (e.is_meta()) out.push_back(e.meta_type);
      put_vlq(out, e.data.size());
    }
    out.insert(out.end(), e.data.begin(), e.data.end());
  }
  put_vlq(out, track.end_tick > tick ? track.end_tick - tick : 0);
  out.insert(out.end(), {0xFF, kMetaEndOfTrack, 0x00});
  const size_t body_bytes = out.size() - body_start;
  assert(body_bytes <= UINT32_MAX);
  for (int i = 0; i < 4; ++i)
    out[body_start - 4 + i] = static_cast<uint8_t>(body_bytes >> (24 - 8 * i));
}

absl::Status invalid_event(size_t track, size_t index, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("track ", track, " event ", index, ": ", what));
}

absl::Status validate_event(const MidiEvent& e, size_t t, size_t i) {
  const bool is_sysex = e.status == 0xF0 || e.status == 0xF7;
  if (e.status < 0x80 || (e.status >= 0xF0 && !is_sysex && !e.is_meta()))
    return invalid_event(
        t, i,
        absl::StrCat("status ", hex_byte(e.status), " is not a channel, meta or sysex status"));
  if (!e.is_meta() && e.meta_type != 0)
    return invalid_event(t, i, "meta_type is set on an event that is not a meta event");
  if (e.is_meta() && e.meta_type == kMetaEndOfTrack)
    return invalid_event(t, i, "end-of-track is implicit; set MidiTrack::end_tick instead");
  if (e.status < 0xF0) {
    if (e.data.size() != channel_data_bytes(e.status))
      return invalid_event(
          t, i,
          absl::StrCat("channel message ", hex_byte(e.status), " needs ",
                       channel_data_bytes(e.status), " data bytes, has ", e.data.size()));
    for (uint8_t b : e.data)
      if (b >= 0x80)
        return invalid_event(t, i, absl::StrCat("data byte ", hex_byte(b), " >= 0x80"));
  } else if (e.data.size() > kMaxVlq) {
    return invalid_event(t, i, "payload longer than a variable-length quantity can hold");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<MidiFile> parse_midi(std::span<const uint8_t> bytes) {
  ByteReader r(bytes, 0);
  absl::StatusOr<Header> header = parse_header(r);
  if (!header.ok()) return header.status();
  MidiFile file;
  file.format = header->format;
  file.ticks_per_quarter = header->ticks_per_quarter;
  file.tracks.reserve(static_cast<size_t>(header->n_tracks));

  size_t n_events = 0;
  while (file.tracks.size() < static_cast<size_t>(header->n_tracks)) {
    const size_t chunk_offset = r.offset();
    if (r.remaining() < kChunkHeaderBytes)
      return truncated(chunk_offset,
                       absl::StrCat("the header declares ", header->n_tracks,
                                    " tracks but the file ends after ", file.tracks.size()));
    std::span<const uint8_t> id = r.take(4);
    const uint32_t length = r.take_u32();
    if (length > r.remaining())
      return truncated(chunk_offset, absl::StrCat("a chunk declares ", length, " bytes but only ",
                                                  r.remaining(), " remain"));
    const size_t body_offset = r.offset();
    std::span<const uint8_t> body = r.take(length);
    if (std::memcmp(id.data(), "MTrk", 4) != 0) continue;  // unknown chunks are skipped
    MidiTrack& track = file.tracks.emplace_back();
    if (absl::Status s = parse_track(ByteReader(body, body_offset), &track, &n_events); !s.ok())
      return s;
  }
  return file;  // bytes after the declared tracks are ignored
}

absl::StatusOr<MidiFile> read_midi_file(const std::string& path) {
  const std::string where = absl::StrCat("MIDI file '", path, "': ");
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(path, ec);
  if (st.type() == std::filesystem::file_type::not_found)
    return absl::NotFoundError(
        absl::StrCat(where, "no such file; check the path (jamd reads .mid files)"));
  if (st.type() == std::filesystem::file_type::directory)
    return absl::InvalidArgumentError(absl::StrCat(where, "is a directory; give a .mid file"));
  // Opening a FIFO or a device could block forever or read without end.
  if (!ec && st.type() != std::filesystem::file_type::regular)
    return absl::InvalidArgumentError(
        absl::StrCat(where, "is not a regular file; give a .mid file"));
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::PermissionDeniedError(absl::StrCat(where, "cannot open: ", std::strerror(errno),
                                                    "; check the path and its permissions"));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0)
    return absl::InvalidArgumentError(
        absl::StrCat(where, "cannot tell its size; give a regular file"));
  if (static_cast<uint64_t>(size) > kMidiMaxFileBytes)
    return absl::InvalidArgumentError(absl::StrCat(where, size, " bytes is larger than the ",
                                                   kMidiMaxFileBytes,
                                                   " a song needs; check that it is a MIDI file"));
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (!in.read(reinterpret_cast<char*>(bytes.data()), size))
    return absl::DataLossError(absl::StrCat(where, "read failed: ", std::strerror(errno)));
  absl::StatusOr<MidiFile> file = parse_midi(bytes);
  if (!file.ok())
    return absl::Status(file.status().code(), absl::StrCat(where, file.status().message()));
  return file;
}

absl::Status validate_midi(const MidiFile& file) {
  if (file.format != 0 && file.format != 1)
    return absl::InvalidArgumentError(
        absl::StrCat("format ", file.format, " cannot be written; use 0 or 1"));
  if (file.ticks_per_quarter < 1 || file.ticks_per_quarter > kMaxTicksPerQuarter)
    return absl::InvalidArgumentError(absl::StrCat("ticks_per_quarter ", file.ticks_per_quarter,
                                                   " is outside 1..", kMaxTicksPerQuarter));
  if (file.tracks.empty() || file.tracks.size() > static_cast<size_t>(kMidiMaxTracks))
    return absl::InvalidArgumentError(
        absl::StrCat(file.tracks.size(), " tracks; write 1 to ", kMidiMaxTracks));
  if (file.format == 0 && file.tracks.size() != 1)
    return absl::InvalidArgumentError(absl::StrCat("format 0 holds exactly one track, not ",
                                                   file.tracks.size(), "; use format 1"));
  for (size_t t = 0; t < file.tracks.size(); ++t) {
    const std::vector<MidiEvent>& events = file.tracks[t].events;
    uint64_t tick = 0;
    uint64_t body_bytes = 0;
    for (size_t i = 0; i < events.size(); ++i) {
      if (events[i].tick < tick) return invalid_event(t, i, "ticks go backwards; sort the track");
      if (events[i].tick - tick > kMaxVlq)
        return invalid_event(t, i, "gap since the previous event exceeds the largest delta time");
      tick = events[i].tick;
      if (absl::Status s = validate_event(events[i], t, i); !s.ok()) return s;
      body_bytes += events[i].data.size() + 10;  // delta, status, type, length: at most 10
    }
    if (file.tracks[t].end_tick > tick && file.tracks[t].end_tick - tick > kMaxVlq)
      return absl::InvalidArgumentError(absl::StrCat("track ", t,
                                                     ": end_tick is too far past "
                                                     "the last event"));
    if (body_bytes > UINT32_MAX)
      return absl::InvalidArgumentError(absl::StrCat("track ", t, " is larger than 4 GiB"));
  }
  return absl::OkStatus();
}

std::vector<uint8_t> serialize_midi(const MidiFile& file) {
  assert(validate_midi(file).ok());
  std::vector<uint8_t> out;
  out.insert(out.end(), {'M', 'T', 'h', 'd'});
  put_u32(out, 6);
  put_u16(out, static_cast<uint32_t>(file.format));
  put_u16(out, static_cast<uint32_t>(file.tracks.size()));
  put_u16(out, static_cast<uint32_t>(file.ticks_per_quarter));
  for (const MidiTrack& track : file.tracks) serialize_track(track, out);
  return out;
}

absl::Status write_midi_file(const std::string& path, const MidiFile& file) {
  if (absl::Status s = validate_midi(file); !s.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write MIDI file '", path, "': ", s.message()));
  const std::vector<uint8_t> bytes = serialize_midi(file);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    return absl::PermissionDeniedError(absl::StrCat("cannot create MIDI file '", path,
                                                    "': ", std::strerror(errno),
                                                    "; check that the folder exists and is "
                                                    "writable"));
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out)
    return absl::DataLossError(absl::StrCat("writing MIDI file '", path, "' failed: ",
                                            std::strerror(errno), "; check free disk space"));
  return absl::OkStatus();
}

}  // namespace jamd::realtime
