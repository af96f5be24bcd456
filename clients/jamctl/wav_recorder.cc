// record_wav: ListenAudio -> StreamDecoder (with loss concealment) -> libsndfile WAV.
#include "clients/jamctl/wav_recorder.h"

#include <grpcpp/client_context.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "clients/jamctl/stream_decoder.h"

namespace jamctl {
namespace {

struct SndFileDeleter {
  void operator()(SNDFILE* f) const { sf_close(f); }
};

}  // namespace

Recording record_wav(jam::v1::Jam::Stub& stub, const std::string& participant_token,
                     const std::string& path, double seconds) {
  Recording r;
  SF_INFO info{};
  info.samplerate = kStreamRateHz;
  info.channels = kStreamChannels;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  std::unique_ptr<SNDFILE, SndFileDeleter> wav(sf_open(path.c_str(), SFM_WRITE, &info));
  if (wav == nullptr) {
    r.status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "cannot write '" + path + "': " + sf_strerror(nullptr));
    return r;
  }
  StreamDecoder decoder;
  const uint64_t target_frames = static_cast<uint64_t>(std::max(0.0, seconds) * kStreamRateHz);
  grpc::ClientContext ctx;  // no deadline: the stream lasts as long as asked
  jam::v1::ListenAudioRequest req;
  req.set_participant_token(participant_token);
  std::unique_ptr<grpc::ClientReader<jam::v1::AudioPacket>> reader = stub.ListenAudio(&ctx, req);
  double sum_squares = 0;
  const auto write = [&](std::span<const float> pcm) {
    const uint64_t room = target_frames - r.frames_written;
    const uint64_t n = std::min<uint64_t>(room, pcm.size() / kStreamChannels);
    for (size_t i = 0; i < n * kStreamChannels; ++i) {
      r.peak = std::max(r.peak, static_cast<double>(std::fabs(pcm[i])));
      sum_squares += static_cast<double>(pcm[i]) * pcm[i];
    }
    sf_writef_float(wav.get(), pcm.data(), static_cast<sf_count_t>(n));
    r.frames_written += n;
  };
  jam::v1::AudioPacket packet;
  while (r.frames_written < target_frames && reader->Read(&packet)) decoder.decode(packet, write);
  r.packets = decoder.packets();
  r.packets_lost = decoder.packets_lost();
  if (r.frames_written >= target_frames) {
    ctx.TryCancel();
    reader->Finish();
  } else {
    r.status = reader->Finish();
    r.ended = r.status.ok();
  }
  r.rms = r.frames_written > 0
              ? std::sqrt(sum_squares / static_cast<double>(r.frames_written * kStreamChannels))
              : 0.0;
  return r;
}

}  // namespace jamctl
