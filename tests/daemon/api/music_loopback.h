// A real jamd with music on 127.0.0.1: the bundled model on one Conductor, HostedJams (a JamHost
// on the real-time virtual clock and an Opus streamer per jam), the session layer and the gRPC
// API, wired as `jamd serve` wires them; plus client helpers for listening.
#pragma once

#include <opus.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "daemon/conductor/conductor.h"
#include "daemon/host/jam_host.h"
#include "daemon/stream/hosted_jams.h"
#include "tests/daemon/api/api_test_util.h"

namespace jamd::api::testing {

// Bounds a wait on a starved machine (2 cores shared by many builds); never an assertion.
constexpr auto kGiveUp = std::chrono::seconds(60);

class MusicLoopback {
 public:
  explicit MusicLoopback(HostedJamsOptions hosted_options = {}) {
    absl::StatusOr<std::unique_ptr<Conductor>> conductor = Conductor::create(
        {.model_path = JAMD_SOURCE_DIR "/models/band.jamd", .backend = models::BackendKind::kCpu});
    EXPECT_TRUE(conductor.ok()) << conductor.status();
    conductor_ = *std::move(conductor);
    conductor_->start();
    JamHostOptions host;
    host.synth_effects = false;  // the dry band: a stop is silence at once, without a tail
    hosted_ = std::make_unique<HostedJams>(
        [this, host](JamId id, const JamState& initial) {
          return JamHost::start(id, initial, *conductor_, host);
        },
        hosted_options);
    jams_ = std::make_unique<SessionRegistry>(test_limits(), hosted_.get());
    ServerOptions options;
    options.listen_address = "127.0.0.1:0";
    absl::StatusOr<std::unique_ptr<ApiServer>> server =
        ApiServer::start(options, jams_.get(), hosted_.get());
    EXPECT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  ~MusicLoopback() {
    server_->shutdown(absl::Seconds(1));
    hosted_->shutdown();
    conductor_->stop();
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", server_->port()); }
  std::unique_ptr<jam::v1::Jam::Stub> stub() const {
    return jam::v1::Jam::NewStub(
        grpc::CreateChannel(address(), grpc::InsecureChannelCredentials()));
  }
  HostedJams& hosted() { return *hosted_; }
  Conductor& conductor() { return *conductor_; }
  SessionRegistry& jams() { return *jams_; }

  // The one jam's listener counts, once they equal (audio, notes) or kGiveUp passed.
  std::pair<size_t, size_t> wait_for_listeners(size_t audio, size_t notes) {
    const auto give_up = std::chrono::steady_clock::now() + kGiveUp;
    std::pair<size_t, size_t> now{0, 0};
    while (std::chrono::steady_clock::now() < give_up) {
      const std::vector<HostedJamStats> stats = hosted_->stats();
      now = stats.empty() ? std::pair<size_t, size_t>{0, 0}
                          : std::pair{stats[0].n_audio_listeners, stats[0].n_note_listeners};
      if (now == std::pair{audio, notes}) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return now;
  }

 private:
  std::unique_ptr<Conductor> conductor_;
  std::unique_ptr<HostedJams> hosted_;
  std::unique_ptr<SessionRegistry> jams_;
  std::unique_ptr<ApiServer> server_;
};

// A jam state that plays at once and quickly: a bar a second.
inline jam::v1::CreateJamRequest fast_jam() {
  jam::v1::CreateJamRequest req;
  req.set_tempo_bpm(240);
  return req;
}

// Reads a ListenAudio stream on the caller's thread, decoding as it goes.
class AudioListener {
 public:
  AudioListener(jam::v1::Jam::Stub& stub, const std::string& token) {
    jam::v1::ListenAudioRequest req;
    req.set_participant_token(token);
    reader_ = stub.ListenAudio(&ctx_, req);
    int error = 0;
    decoder_ = opus_decoder_create(48000, 2, &error);
  }
  ~AudioListener() {
    ctx_.TryCancel();
    opus_decoder_destroy(decoder_);
  }
  AudioListener(const AudioListener&) = delete;
  AudioListener& operator=(const AudioListener&) = delete;

  // Reads one packet and decodes it into pcm(); false when the stream ended.
  bool read_one() {
    jam::v1::AudioPacket p;
    if (!reader_->Read(&p)) return false;
    std::vector<float> out(5760 * 2);
    const int n =
        opus_decode_float(decoder_, reinterpret_cast<const unsigned char*>(p.opus_packet().data()),
                          static_cast<opus_int32>(p.opus_packet().size()), out.data(), 5760, 0);
    if (n > 0) pcm_.insert(pcm_.end(), out.begin(), out.begin() + 2 * n);
    packets_.push_back(std::move(p));
    return true;
  }
  // Reads until `seconds` of audio arrived after the current end (or the stream ended).
  void read_seconds(double seconds) {
    const size_t target = pcm_.size() + static_cast<size_t>(seconds * 48000) * 2;
    while (pcm_.size() < target && read_one()) {
    }
  }
  grpc::Status finish() { return reader_->Finish(); }
  const std::vector<jam::v1::AudioPacket>& packets() const { return packets_; }
  const std::vector<float>& pcm() const { return pcm_; }
  // RMS of the interleaved samples [from, to) in frames.
  double rms(size_t from_frame, size_t to_frame) const {
    double sum = 0;
    size_t n = 0;
    for (size_t i = from_frame * 2; i < std::min(to_frame * 2, pcm_.size()); ++i, ++n) {
      sum += double{pcm_[i]} * pcm_[i];
    }
    return n == 0 ? 0.0 : std::sqrt(sum / static_cast<double>(n));
  }

 private:
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<jam::v1::AudioPacket>> reader_;
  OpusDecoder* decoder_ = nullptr;
  std::vector<jam::v1::AudioPacket> packets_;
  std::vector<float> pcm_;
};

}  // namespace jamd::api::testing
