// JamMedia: what a running jam offers its listeners, whatever carries it (gRPC ListenAudio and
// ListenNotes, the web client's WebSocket). The audio is encoded once per jam on the streamer
// thread; each subscriber gets its own bounded drop-oldest queue, so a slow one loses its own
// packets and never slows the jam or anyone else.
//
//   auto audio = media.subscribe_audio(jam_id, 50, [&] { wake_writer(); });
//   if (!audio.ok()) return audio.status();             // NOT_FOUND: no such running jam
//   while (std::optional<OpusPacket> p = (*audio)->pop()) send(*p);
//   if ((*audio)->finished()) end_stream();              // the jam ended
//
// Thread safety: every method may be called from any thread and never blocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

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

class JamMedia {
 public:
  virtual ~JamMedia() = default;
  // NOT_FOUND when the jam is unknown or not running. on_ready must not block.
  virtual absl::StatusOr<std::shared_ptr<TapQueue<OpusPacket>>> subscribe_audio(
      const std::string& jam_id, size_t capacity_packets, std::function<void()> on_ready) = 0;
  virtual absl::StatusOr<std::shared_ptr<TapQueue<TappedNote>>> subscribe_notes(
      const std::string& jam_id, size_t capacity_notes, std::function<void()> on_ready) = 0;
};

}  // namespace jamd
