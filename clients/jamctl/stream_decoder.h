// StreamDecoder: turns a ListenAudio stream's Opus packets back into 48 kHz stereo float audio,
// in order, concealing lost packets (a gap in AudioPacket.sequence) so the audio keeps the jam's
// timing. Shared by `listen --out` (WAV) and `listen --jack`.
//
//   StreamDecoder decoder;
//   while (reader->Read(&packet)) {
//     decoder.decode(packet, [&](std::span<const float> interleaved) { ... });
//   }
//
// Thread safety: one thread at a time (it owns an OpusDecoder).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "jam/v1/jam.pb.h"

struct OpusDecoder;

namespace jamctl {

inline constexpr int kStreamRateHz = 48000;
inline constexpr int kStreamChannels = 2;

class StreamDecoder {
 public:
  // Receives interleaved stereo frames; valid only during the call.
  using Emit = std::function<void(std::span<const float> interleaved)>;

  StreamDecoder();
  ~StreamDecoder();
  StreamDecoder(const StreamDecoder&) = delete;
  StreamDecoder& operator=(const StreamDecoder&) = delete;

  // Emits the concealment of any packets lost just before `packet`, then `packet` itself (a
  // corrupt packet emits nothing: the next one resynchronizes).
  void decode(const jam::v1::AudioPacket& packet, const Emit& emit);

  uint64_t packets() const { return packets_; }            // decoded
  uint64_t packets_lost() const { return packets_lost_; }  // gaps in the sequence, concealed

 private:
  struct DecoderDeleter {
    void operator()(OpusDecoder* d) const;
  };
  std::unique_ptr<OpusDecoder, DecoderDeleter> decoder_;
  std::vector<float> pcm_;
  bool have_previous_ = false;
  uint64_t next_sequence_ = 0;
  uint64_t packets_ = 0;
  uint64_t packets_lost_ = 0;
};

}  // namespace jamctl
