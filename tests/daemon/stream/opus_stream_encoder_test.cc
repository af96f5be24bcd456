// OpusStreamEncoder: whole 10 ms packets, true timestamps, the signal survives the codec, and
// another host rate is resampled to 48 kHz.
#include "daemon/stream/opus_stream_encoder.h"

#include <gtest/gtest.h>

#include "tests/daemon/stream/opus_test_util.h"

namespace jamd {
namespace {

using testing::Decoder;
using testing::sine_blocks;

std::vector<OpusPacket> encode_all(OpusStreamEncoder& enc, const std::vector<MixBlock>& blocks) {
  std::vector<OpusPacket> packets;
  for (const MixBlock& b : blocks) enc.encode(b, [&](OpusPacket&& p) { packets.push_back(p); });
  return packets;
}

TEST(OpusStreamEncoder, OneSecondIsOneHundredTenMillisecondPacketsInOrder) {
  auto enc = *OpusStreamEncoder::create(48000, {});
  const std::vector<OpusPacket> packets = encode_all(*enc, sine_blocks(440, 48000, 256, 375));
  ASSERT_EQ(packets.size(), 200u);  // 375 x 256 = 96000 frames = 2 s
  for (size_t i = 0; i < packets.size(); ++i) {
    EXPECT_EQ(packets[i].sequence, i);
    EXPECT_EQ(packets[i].sample_time_frames, i * 480);
    EXPECT_EQ(packets[i].frames_per_packet, 480);
    EXPECT_EQ(packets[i].sample_rate_hz, 48000);
    EXPECT_EQ(packets[i].n_channels, 2);
    EXPECT_GT(packets[i].encoded_unix_us, 0);
  }
}

TEST(OpusStreamEncoder, TheSineSurvivesTheCodec) {
  auto enc = *OpusStreamEncoder::create(48000, {});
  Decoder dec;
  std::vector<float> pcm;
  for (const OpusPacket& p : encode_all(*enc, sine_blocks(440, 48000, 256, 375))) {
    ASSERT_EQ(dec.decode(p.data, &pcm), 480);
  }
  EXPECT_NEAR(testing::rms(pcm, 9600), 0.5 / std::sqrt(2.0), 0.05);
  EXPECT_NEAR(testing::sine_freq_hz(pcm, 48000, 9600), 440.0, 2.0);
}

TEST(OpusStreamEncoder, AnotherHostRateIsResampledTo48k) {
  auto enc = *OpusStreamEncoder::create(44100, {});
  Decoder dec;
  std::vector<float> pcm;
  // 2 s at 44.1 kHz.
  const std::vector<OpusPacket> packets = encode_all(*enc, sine_blocks(440, 44100, 441, 200));
  EXPECT_GE(packets.size(), 198u);
  EXPECT_LE(packets.size(), 200u);
  for (const OpusPacket& p : packets) ASSERT_EQ(dec.decode(p.data, &pcm), 480);
  EXPECT_NEAR(testing::sine_freq_hz(pcm, 48000, 9600), 440.0, 2.0);
}

TEST(OpusStreamEncoder, AShortGapIsFilledSoTimestampsStayTrue) {
  auto enc = *OpusStreamEncoder::create(48000, {});
  std::vector<MixBlock> blocks = sine_blocks(440, 48000, 480, 4);
  std::vector<MixBlock> later = sine_blocks(440, 48000, 480, 4, /*first_frame=*/480 * 6);
  blocks.insert(blocks.end(), later.begin(), later.end());
  const std::vector<OpusPacket> packets = encode_all(*enc, blocks);
  ASSERT_EQ(packets.size(), 10u);  // 8 blocks and the 2 of silence between them
  for (size_t i = 0; i < packets.size(); ++i) EXPECT_EQ(packets[i].sample_time_frames, i * 480);
  EXPECT_EQ(enc->gap_frames_filled(), 960u);
}

TEST(OpusStreamEncoder, ALongGapRestartsTheTimelineWithoutSkippingSequence) {
  auto enc = *OpusStreamEncoder::create(48000, {});
  std::vector<MixBlock> blocks = sine_blocks(440, 48000, 480, 2);
  std::vector<MixBlock> later = sine_blocks(440, 48000, 480, 2, /*first_frame=*/48000 * 5);
  blocks.insert(blocks.end(), later.begin(), later.end());
  const std::vector<OpusPacket> packets = encode_all(*enc, blocks);
  ASSERT_EQ(packets.size(), 4u);
  EXPECT_EQ(packets[2].sample_time_frames, 48000u * 5);
  EXPECT_EQ(packets[3].sequence, 3u);
}

TEST(OpusStreamEncoder, RefusesFramesOpusCannotMake) {
  EXPECT_EQ(OpusStreamEncoder::create(48000, {.frame_ms = 7}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace jamd
