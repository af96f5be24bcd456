// JamMedia: what a running jam offers its listeners, whatever carries it (gRPC ListenAudio and
// ListenNotes, the web client's WebSocket). The audio is encoded once per jam on the streamer
// thread; each subscriber gets its own bounded drop-oldest queue, so a slow one loses its own
// packets and never slows the jam or anyone else.
//
//   auto audio = media.subscribe_audio(jam_id, 50, [&] { wake_writer(); });
//   if (!audio.ok()) return audio.status();             // NOT_FOUND: no such running jam
//   while (std::optional<SharedOpusPacket> p = (*audio)->pop()) send((*p)->packet);
//   if ((*audio)->finished()) end_stream();              // the jam ended
//
// Thread safety: every method may be called from any thread and never blocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/call_once.h"
#include "absl/status/statusor.h"
#include "daemon/host/jam_host.h"
#include "daemon/host/tap_queue.h"

namespace jamd {

// One Opus packet of a jam's stereo mix (jam.v1 AudioPacket without protobuf).
struct OpusPacket {
  uint64_t sequence = 0;  // the jam's packet count: +1 per packet; a gap: this subscriber lost some
  uint64_t sample_time_frames = 0;  // the packet's first frame on the jam's clock
  int32_t sample_rate_hz = 48000;
  int32_t n_channels = 2;
  int32_t frames_per_packet = 480;  // 10 ms at 48 kHz
  int64_t encoded_unix_us = 0;      // when the streamer encoded it (daemon clock), for latency
  std::string data;                 // the Opus packet (RFC 6716)
};

// A published packet: one immutable copy per jam that every listener's queue shares (the
// fan-out copies a pointer per listener, never the bytes). A transport that sends the same bytes
// to everyone (gRPC: a jam.v1 AudioPacket) serializes it once, on the first listener's send.
class PublishedPacket {
 public:
  using Serializer = std::string (*)(const OpusPacket&);
  explicit PublishedPacket(OpusPacket p) : packet(std::move(p)) {}

  const OpusPacket packet;
  // The packet serialized by `serialize`, made once and then shared. Every caller must pass the
  // same serializer (the jam.v1 AudioPacket one: only the gRPC API calls this). thread: any
  const std::string& wire_bytes(Serializer serialize) const {
    absl::call_once(wire_once_, [&] { wire_ = serialize(packet); });
    return wire_;
  }

 private:
  mutable absl::once_flag wire_once_;
  mutable std::string wire_;
};
using SharedOpusPacket = std::shared_ptr<const PublishedPacket>;

// The real-time health of the running jams, summed over them (each since it started): what an
// operator reads from `jamctl status`.
struct MediaHealth {
  uint64_t playing_jams = 0;
  double audio_seconds = 0;  // the band's audio played
  uint64_t xruns = 0;        // periods that started more than a period late
  uint64_t late_events = 0;  // notes and commands that reached the RT thread after their frame
  uint64_t late_notes_dropped = 0;  // of them: note-ons too late to play (kDropNoteOnsLateMs)
  double unplanned_seconds = 0;     // the band rested: the conductor had nothing planned in time
  uint64_t packets = 0;             // Opus packets encoded
  uint64_t mix_frames_lost = 0;     // the tap or the encoder fell behind the band
};

class JamMedia {
 public:
  virtual ~JamMedia() = default;
  virtual MediaHealth health() const = 0;  // thread: any
  // NOT_FOUND when the jam is unknown or not running. on_ready must not block.
  virtual absl::StatusOr<std::shared_ptr<TapQueue<SharedOpusPacket>>> subscribe_audio(
      const std::string& jam_id, size_t capacity_packets, std::function<void()> on_ready) = 0;
  virtual absl::StatusOr<std::shared_ptr<TapQueue<TappedNote>>> subscribe_notes(
      const std::string& jam_id, size_t capacity_notes, std::function<void()> on_ready) = 0;
};

}  // namespace jamd
