// Helpers for the streamer tests: a sine in mix blocks, and an Opus decoder.
#pragma once

#include <opus.h>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <vector>

#include "daemon/host/jam_host.h"

namespace jamd::testing {

// `n_blocks` blocks of `block_frames` frames of a stereo sine, starting at frame `first_frame`.
inline std::vector<MixBlock> sine_blocks(double freq_hz, uint32_t rate_hz, size_t block_frames,
                                         size_t n_blocks, uint64_t first_frame = 0) {
  std::vector<MixBlock> blocks;
  for (size_t b = 0; b < n_blocks; ++b) {
    MixBlock block;
    block.first_frame = first_frame + b * block_frames;
    block.sample_rate_hz = rate_hz;
    for (size_t i = 0; i < block_frames; ++i) {
      const double t = static_cast<double>(block.first_frame + i) / rate_hz;
      const float v = static_cast<float>(0.5 * std::sin(2 * std::numbers::pi * freq_hz * t));
      block.interleaved.push_back(v);
      block.interleaved.push_back(v);
    }
    blocks.push_back(std::move(block));
  }
  return blocks;
}

// Decodes Opus packets (48 kHz stereo) to interleaved floats.
class Decoder {
 public:
  Decoder() {
    int error = 0;
    decoder_ = opus_decoder_create(48000, 2, &error);
  }
  ~Decoder() { opus_decoder_destroy(decoder_); }
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;
  // Returns frames decoded (negative: an Opus error).
  int decode(const std::string& packet, std::vector<float>* out) {
    std::vector<float> pcm(5760 * 2);
    const int n = opus_decode_float(decoder_, reinterpret_cast<const unsigned char*>(packet.data()),
                                    static_cast<opus_int32>(packet.size()), pcm.data(), 5760, 0);
    if (n > 0) out->insert(out->end(), pcm.begin(), pcm.begin() + 2 * n);
    return n;
  }

 private:
  OpusDecoder* decoder_ = nullptr;
};

inline double rms(const std::vector<float>& x, size_t from = 0) {
  double sum = 0;
  for (size_t i = from; i < x.size(); ++i) sum += double{x[i]} * x[i];
  return x.size() > from ? std::sqrt(sum / static_cast<double>(x.size() - from)) : 0.0;
}

// The frequency of a (left channel) sine from its rising zero crossings.
inline double sine_freq_hz(const std::vector<float>& interleaved, double rate_hz, size_t from) {
  size_t first = 0, last = 0, n = 0;
  for (size_t i = from + 2; i < interleaved.size(); i += 2) {
    if (interleaved[i - 2] < 0 && interleaved[i] >= 0) {
      if (n == 0) first = i / 2;
      last = i / 2;
      ++n;
    }
  }
  return n < 2 ? 0.0 : (n - 1) * rate_hz / static_cast<double>(last - first);
}

}  // namespace jamd::testing
