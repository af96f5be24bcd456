// OpusStreamEncoder: resample (when needed), frame, encode, stamp.
#include "daemon/stream/opus_stream_encoder.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace jamd {
namespace {

// The longest tap-ring gap filled with silence; longer ones restart the packet timeline (the jam
// was stalled, and a second of silence would only delay the listener).
constexpr double kMaxGapFillMs = 1000.0;
// Opus's own ceiling for one packet (RFC 6716 §3.4: 1275 bytes per frame, 3 frames of 20 ms).
constexpr size_t kMaxPacketBytes = 4000;

}  // namespace

absl::StatusOr<std::unique_ptr<OpusStreamEncoder>> OpusStreamEncoder::create(
    int32_t input_rate_hz, const OpusStreamOptions& options) {
  const double frames = options.frame_ms * kOpusSampleRateHz / 1000.0;
  const int32_t frames_per_packet = static_cast<int32_t>(frames);
  if (frames != frames_per_packet || (frames_per_packet != 120 && frames_per_packet != 240 &&
                                      frames_per_packet != 480 && frames_per_packet != 960)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Opus frames are 2.5, 5, 10 or 20 ms, not ", options.frame_ms, " ms"));
  }
  if (input_rate_hz < 8000 || input_rate_hz > 384000) {
    return absl::InvalidArgumentError(absl::StrCat("unusable mix sample rate ", input_rate_hz));
  }
  int error = OPUS_OK;
  std::unique_ptr<OpusEncoder, OpusEncoderDeleter> encoder(opus_encoder_create(
      kOpusSampleRateHz, kOpusChannels,
      options.low_delay ? OPUS_APPLICATION_RESTRICTED_LOWDELAY : OPUS_APPLICATION_AUDIO, &error));
  if (error != OPUS_OK || encoder == nullptr) {
    return absl::InternalError(absl::StrCat("opus_encoder_create: ", opus_strerror(error)));
  }
  opus_encoder_ctl(encoder.get(), OPUS_SET_BITRATE(options.bitrate_bps));
  opus_encoder_ctl(encoder.get(), OPUS_SET_COMPLEXITY(options.complexity));
  opus_encoder_ctl(encoder.get(), OPUS_SET_SIGNAL(OPUS_SIGNAL_MUSIC));
  std::unique_ptr<SRC_STATE, SrcStateDeleter> resampler;
  if (input_rate_hz != kOpusSampleRateHz) {
    resampler.reset(src_new(SRC_SINC_FASTEST, kOpusChannels, &error));
    if (resampler == nullptr) {
      return absl::InternalError(absl::StrCat("src_new: ", src_strerror(error)));
    }
  }
  return std::unique_ptr<OpusStreamEncoder>(new OpusStreamEncoder(
      input_rate_hz, frames_per_packet, std::move(encoder), std::move(resampler)));
}

OpusStreamEncoder::OpusStreamEncoder(int32_t input_rate_hz, int32_t frames_per_packet,
                                     std::unique_ptr<OpusEncoder, OpusEncoderDeleter> encoder,
                                     std::unique_ptr<SRC_STATE, SrcStateDeleter> resampler)
    : input_rate_hz_(input_rate_hz),
      frames_per_packet_(frames_per_packet),
      encoder_(std::move(encoder)),
      resampler_(std::move(resampler)),
      out_(kMaxPacketBytes) {
  pending_.reserve(static_cast<size_t>(frames_per_packet_) * kOpusChannels);
}

void OpusStreamEncoder::encode(const MixBlock& block,
                               const std::function<void(OpusPacket&&)>& emit) {
  const size_t n_frames = block.interleaved.size() / kOpusChannels;
  if (n_frames == 0) return;
  const double ratio = static_cast<double>(kOpusSampleRateHz) / input_rate_hz_;
  if (!started_ || block.first_frame < next_input_frame_) {
    // The first block, or a clock that went back (a restarted host): a new timeline.
    started_ = true;
    pending_.clear();
    pending_start_frame_ = static_cast<uint64_t>(static_cast<double>(block.first_frame) * ratio);
  } else if (block.first_frame > next_input_frame_) {
    const uint64_t gap = block.first_frame - next_input_frame_;
    if (static_cast<double>(gap) * 1000.0 / input_rate_hz_ <= kMaxGapFillMs) {
      const std::vector<float> silence(static_cast<size_t>(gap) * kOpusChannels, 0.0f);
      gap_frames_filled_ += gap;
      if (resampler_ == nullptr) {
        append(silence.data(), gap, emit);
      } else {
        MixBlock fill{.first_frame = next_input_frame_,
                      .sample_rate_hz = block.sample_rate_hz,
                      .interleaved = silence};
        next_input_frame_ = fill.first_frame;  // keeps the recursion on the contiguous path
        encode(fill, emit);
      }
    } else {
      pending_.clear();
      pending_start_frame_ = static_cast<uint64_t>(static_cast<double>(block.first_frame) * ratio);
    }
  }
  next_input_frame_ = block.first_frame + n_frames;
  if (resampler_ == nullptr) {
    append(block.interleaved.data(), n_frames, emit);
    return;
  }
  resampled_.resize(static_cast<size_t>(static_cast<double>(n_frames) * ratio + 64) *
                    kOpusChannels);
  SRC_DATA data{};
  data.data_in = block.interleaved.data();
  data.input_frames = static_cast<long>(n_frames);
  data.data_out = resampled_.data();
  data.output_frames = static_cast<long>(resampled_.size() / kOpusChannels);
  data.src_ratio = ratio;
  data.end_of_input = 0;
  if (src_process(resampler_.get(), &data) != 0) return;  // cannot happen with valid buffers
  append(resampled_.data(), static_cast<size_t>(data.output_frames_gen), emit);
}

void OpusStreamEncoder::append(const float* interleaved, size_t n_frames,
                               const std::function<void(OpusPacket&&)>& emit) {
  const size_t packet_samples = static_cast<size_t>(frames_per_packet_) * kOpusChannels;
  size_t taken = 0;
  const size_t n_samples = n_frames * kOpusChannels;
  while (taken < n_samples) {
    const size_t n = std::min(packet_samples - pending_.size(), n_samples - taken);
    pending_.insert(pending_.end(), interleaved + taken, interleaved + taken + n);
    taken += n;
    if (pending_.size() < packet_samples) break;
    const opus_int32 bytes = opus_encode_float(encoder_.get(), pending_.data(), frames_per_packet_,
                                               out_.data(), static_cast<opus_int32>(out_.size()));
    if (bytes > 0) {
      OpusPacket packet;
      packet.sequence = next_sequence_++;
      packet.sample_time_frames = pending_start_frame_;
      packet.sample_rate_hz = kOpusSampleRateHz;
      packet.n_channels = kOpusChannels;
      packet.frames_per_packet = frames_per_packet_;
      packet.encoded_unix_us = absl::ToUnixMicros(absl::Now());
      packet.data.assign(reinterpret_cast<const char*>(out_.data()), static_cast<size_t>(bytes));
      emit(std::move(packet));
    }
    pending_start_frame_ += static_cast<uint64_t>(frames_per_packet_);
    pending_.clear();
  }
}

}  // namespace jamd
