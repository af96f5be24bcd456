// OpusStreamEncoder: a jam's stereo mix, block by block as the host renders it, into Opus
// packets of 10 ms at 48 kHz (resampled first when the host runs at another rate). Encoded once
// per jam; the packets then go to every listener unchanged.
//
//   auto enc = *OpusStreamEncoder::create(/*input_rate_hz=*/48000, OpusStreamOptions{});
//   enc->encode(mix_block, [&](OpusPacket&& p) { audio_fan_out.publish(p); });
//
// Timestamps: sample_time_frames counts 48 kHz frames since the jam's start, so with a 48 kHz
// host it is the host's own clock. A gap in the blocks (the tap ring overflowed) is filled with
// silence up to kMaxGapFillMs so timestamps stay true; a longer gap restarts the timeline at the
// next block. Sequence numbers never skip.
//
// Thread safety: one thread at a time (the jam's streamer thread).
#pragma once

#include <opus.h>
#include <samplerate.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/host/jam_host.h"
#include "daemon/stream/jam_media.h"

namespace jamd {

struct OpusEncoderDeleter {
  void operator()(OpusEncoder* p) const { opus_encoder_destroy(p); }
};
struct SrcStateDeleter {
  void operator()(SRC_STATE* p) const { src_delete(p); }
};

inline constexpr int32_t kOpusSampleRateHz = 48000;
inline constexpr int32_t kOpusChannels = 2;

struct OpusStreamOptions {
  // 10 ms: ARCHITECTURE.md's frame size; 2.5 / 5 / 10 / 20 ms are valid Opus frames.
  double frame_ms = 10.0;
  int32_t bitrate_bps = 128000;  // transparent-ish stereo music at this frame size
  // RESTRICTED_LOWDELAY: CELT only, 2.5 ms algorithmic delay instead of 6.5 ms (RFC 6716 §2).
  bool low_delay = true;
  int32_t complexity = 5;  // 0..10; 5 halves the CPU of 10 for a barely audible difference
};

class OpusStreamEncoder {
 public:
  static absl::StatusOr<std::unique_ptr<OpusStreamEncoder>> create(
      int32_t input_rate_hz, const OpusStreamOptions& options);

  // Appends the block and emits every whole packet it completes.
  void encode(const MixBlock& block, const std::function<void(OpusPacket&&)>& emit);

  int32_t frames_per_packet() const { return frames_per_packet_; }
  uint64_t packets_encoded() const { return next_sequence_; }
  uint64_t gap_frames_filled() const { return gap_frames_filled_; }

 private:
  OpusStreamEncoder(int32_t input_rate_hz, int32_t frames_per_packet,
                    std::unique_ptr<OpusEncoder, OpusEncoderDeleter> encoder,
                    std::unique_ptr<SRC_STATE, SrcStateDeleter> resampler);
  // 48 kHz interleaved samples into pending_, emitting whole packets.
  void append(const float* interleaved, size_t n_frames,
              const std::function<void(OpusPacket&&)>& emit);

  const int32_t input_rate_hz_;
  const int32_t frames_per_packet_;
  std::unique_ptr<OpusEncoder, OpusEncoderDeleter> encoder_;
  std::unique_ptr<SRC_STATE, SrcStateDeleter> resampler_;  // null at 48 kHz
  std::vector<float> pending_;                             // 48 kHz interleaved, < one packet
  std::vector<float> resampled_;                           // scratch
  std::vector<unsigned char> out_;                         // scratch: one encoded packet
  bool started_ = false;
  uint64_t next_input_frame_ = 0;     // host clock: where the next block should start
  uint64_t pending_start_frame_ = 0;  // 48 kHz clock: pending_'s first frame
  uint64_t next_sequence_ = 0;
  uint64_t gap_frames_filled_ = 0;
};

}  // namespace jamd
