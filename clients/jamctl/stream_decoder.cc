// StreamDecoder: Opus decoding with packet-loss concealment for jamctl's listeners.
#include "clients/jamctl/stream_decoder.h"

#include <opus.h>

#include <algorithm>

namespace jamctl {
namespace {

constexpr int kMaxFrames = 5760;  // 120 ms: Opus's longest packet
// More than this many lost packets in one gap are not concealed one by one (PLC of a long gap is
// only a fade to silence): they become silence instead.
constexpr uint64_t kMaxConcealedPackets = 50;

}  // namespace

void StreamDecoder::DecoderDeleter::operator()(OpusDecoder* d) const { opus_decoder_destroy(d); }

StreamDecoder::StreamDecoder() : pcm_(static_cast<size_t>(kMaxFrames) * kStreamChannels) {
  int error = 0;
  decoder_.reset(opus_decoder_create(kStreamRateHz, kStreamChannels, &error));
}

StreamDecoder::~StreamDecoder() = default;

void StreamDecoder::decode(const jam::v1::AudioPacket& packet, const Emit& emit) {
  const auto emit_frames = [&](int n_frames) {
    if (n_frames > 0) emit(std::span<const float>(pcm_.data(), static_cast<size_t>(n_frames) * 2));
  };
  if (have_previous_ && packet.sequence() > next_sequence_) {
    const uint64_t lost = packet.sequence() - next_sequence_;
    packets_lost_ += lost;
    const int frames = std::min<int>(static_cast<int>(packet.frames_per_packet()), kMaxFrames);
    for (uint64_t i = 0; i < lost; ++i) {
      if (i < kMaxConcealedPackets) {
        emit_frames(opus_decode_float(decoder_.get(), nullptr, 0, pcm_.data(), frames, 0));
      } else {
        std::fill(pcm_.begin(), pcm_.end(), 0.0f);
        emit_frames(frames);
      }
    }
  }
  have_previous_ = true;
  next_sequence_ = packet.sequence() + 1;
  const std::string& data = packet.opus_packet();
  const int n =
      opus_decode_float(decoder_.get(), reinterpret_cast<const unsigned char*>(data.data()),
                        static_cast<opus_int32>(data.size()), pcm_.data(), kMaxFrames, 0);
  if (n < 0) return;
  ++packets_;
  emit_frames(n);
}

}  // namespace jamctl
