// record_wav: ListenAudio -> Opus decoder (with loss concealment) -> libsndfile WAV.
#include "clients/jamctl/wav_recorder.h"

#include <grpcpp/client_context.h>
#include <opus.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

namespace jamctl {
namespace {

constexpr int kRateHz = 48000;
constexpr int kChannels = 2;
constexpr int kMaxFrames = 5760;  // 120 ms: Opus's longest packet
// More than this many lost packets in one gap are not concealed one by one (PLC of a long gap is
// only a fade to silence): the file gets silence instead.
constexpr uint64_t kMaxConcealedPackets = 50;

struct DecoderDeleter {
  void operator()(OpusDecoder* d) const { opus_decoder_destroy(d); }
};
struct SndFileDeleter {
  void operator()(SNDFILE* f) const { sf_close(f); }
};

}  // namespace

Recording record_wav(jam::v1::Jam::Stub& stub, const std::string& participant_token,
                     const std::string& path, double seconds) {
  Recording r;
  SF_INFO info{};
  info.samplerate = kRateHz;
  info.channels = kChannels;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  std::unique_ptr<SNDFILE, SndFileDeleter> wav(sf_open(path.c_str(), SFM_WRITE, &info));
  if (wav == nullptr) {
    r.status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "cannot write '" + path + "': " + sf_strerror(nullptr));
    return r;
  }
  int error = 0;
  std::unique_ptr<OpusDecoder, DecoderDeleter> decoder(
      opus_decoder_create(kRateHz, kChannels, &error));
  const uint64_t target_frames = static_cast<uint64_t>(std::max(0.0, seconds) * kRateHz);
  grpc::ClientContext ctx;  // no deadline: the stream lasts as long as asked
  jam::v1::ListenAudioRequest req;
  req.set_participant_token(participant_token);
  std::unique_ptr<grpc::ClientReader<jam::v1::AudioPacket>> reader = stub.ListenAudio(&ctx, req);
  std::vector<float> pcm(static_cast<size_t>(kMaxFrames) * kChannels);
  double sum_squares = 0;
  const auto write = [&](int n_frames) {
    const uint64_t room = target_frames - r.frames_written;
    const uint64_t n = std::min<uint64_t>(room, static_cast<uint64_t>(n_frames));
    for (size_t i = 0; i < n * kChannels; ++i) {
      r.peak = std::max(r.peak, static_cast<double>(std::fabs(pcm[i])));
      sum_squares += static_cast<double>(pcm[i]) * pcm[i];
    }
    sf_writef_float(wav.get(), pcm.data(), static_cast<sf_count_t>(n));
    r.frames_written += n;
  };
  jam::v1::AudioPacket packet;
  bool have_previous = false;
  uint64_t next_sequence = 0;
  while (r.frames_written < target_frames && reader->Read(&packet)) {
    if (have_previous && packet.sequence() > next_sequence) {
      const uint64_t lost = packet.sequence() - next_sequence;
      r.packets_lost += lost;
      for (uint64_t i = 0; i < lost && r.frames_written < target_frames; ++i) {
        if (i < kMaxConcealedPackets) {
          write(opus_decode_float(decoder.get(), nullptr, 0, pcm.data(), packet.frames_per_packet(),
                                  0));
        } else {
          std::fill(pcm.begin(), pcm.end(), 0.0f);
          write(packet.frames_per_packet());
        }
      }
    }
    have_previous = true;
    next_sequence = packet.sequence() + 1;
    const std::string& data = packet.opus_packet();
    const int n =
        opus_decode_float(decoder.get(), reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<opus_int32>(data.size()), pcm.data(), kMaxFrames, 0);
    if (n < 0) continue;  // a corrupt packet: skip it (the next one resynchronizes)
    ++r.packets;
    write(n);
  }
  if (r.frames_written >= target_frames) {
    ctx.TryCancel();
    reader->Finish();
  } else {
    r.status = reader->Finish();
    r.ended = r.status.ok();
  }
  r.rms = r.frames_written > 0
              ? std::sqrt(sum_squares / static_cast<double>(r.frames_written * kChannels))
              : 0.0;
  return r;
}

}  // namespace jamctl
