// listen_jack: ListenAudio -> StreamDecoder -> (resampler) -> AudioRing -> JACK's out_L/out_R.
#include "clients/jamctl/jack_player.h"

#include <grpcpp/client_context.h>
#include <samplerate.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <thread>
#include <vector>

#include "clients/jamctl/stream_decoder.h"
#include "realtime/core/audio_ring.h"
#include "realtime/jack/jack_io.h"

namespace jamctl {
namespace {

using jamd::realtime::AudioRing;
using jamd::realtime::ProcessBlock;

constexpr double kPacketSeconds = 0.010;  // the stream's frames: 10 ms (docs/api.md)
// Above the jitter buffer by this many packets the reader skips a packet: a JACK clock a little
// slower than jamd's, or a burst after a network stall, must not grow the latency for good.
constexpr int kLatencySlackPackets = 6;
constexpr double kRingSeconds = 1.0;
constexpr auto kStopPollInterval = std::chrono::milliseconds(20);

// Set by SIGINT / SIGTERM (async-signal-safe: a lock-free atomic store only).
std::atomic<bool> g_stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);
void request_stop(int) { g_stop_requested.store(true, std::memory_order_relaxed); }

// Installs request_stop for SIGINT and SIGTERM while alive; a second Ctrl-C kills as usual.
class StopSignals {
 public:
  StopSignals() {
    g_stop_requested.store(false);
    struct sigaction action {};
    action.sa_handler = request_stop;
    action.sa_flags = SA_RESETHAND;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// The JACK callback: plays the ring once it holds the jitter buffer; a dry ring is silence,
// counted, and playback waits for the buffer to refill. Never allocates, locks or blocks.
class JitterPlayer final : public jamd::realtime::ProcessCallback {
 public:
  JitterPlayer(AudioRing& ring, size_t buffer_frames, uint32_t max_period_frames)
      : ring_(ring),
        buffer_frames_(buffer_frames),
        max_period_frames_(max_period_frames),
        scratch_(std::make_unique<float[]>(static_cast<size_t>(max_period_frames) * 2)) {}

  void process(const ProcessBlock& block) override {  // thread: rt
    const size_t n = std::min<size_t>(block.n_frames, max_period_frames_);
    const bool draining = draining_.load(std::memory_order_acquire);
    if (!playing_ && (draining || ring_.fill_frames() >= buffer_frames_)) playing_ = true;
    size_t got = 0;
    if (playing_) {
      got = ring_.read_interleaved(std::span<float>(scratch_.get(), n * 2));
      if (got < n && !draining) {
        underruns_.fetch_add(1, std::memory_order_relaxed);
        underrun_frames_.fetch_add(n - got, std::memory_order_relaxed);
        playing_ = false;
      }
    }
    float peak = 0;
    for (size_t i = 0; i < block.n_frames; ++i) {
      const float left = i < got ? scratch_[2 * i] : 0.0f;
      const float right = i < got ? scratch_[2 * i + 1] : 0.0f;
      block.audio_out[0][i] = left;
      block.audio_out[1][i] = right;
      peak = std::max({peak, std::fabs(left), std::fabs(right)});
    }
    frames_played_.fetch_add(got, std::memory_order_relaxed);
    if (peak > peak_.load(std::memory_order_relaxed)) {
      peak_.store(peak, std::memory_order_relaxed);
    }
  }

  // The stream has ended: play what is left without waiting for a full buffer. thread: reader
  void drain() { draining_.store(true, std::memory_order_release); }

  uint64_t underruns() const { return underruns_.load(std::memory_order_relaxed); }
  uint64_t underrun_frames() const { return underrun_frames_.load(std::memory_order_relaxed); }
  uint64_t frames_played() const { return frames_played_.load(std::memory_order_relaxed); }
  float peak() const { return peak_.load(std::memory_order_relaxed); }

 private:
  AudioRing& ring_;
  const size_t buffer_frames_;
  const uint32_t max_period_frames_;
  std::unique_ptr<float[]> scratch_;  // one period, interleaved
  bool playing_ = false;              // thread: rt
  std::atomic<bool> draining_{false};
  std::atomic<uint64_t> underruns_{0};
  std::atomic<uint64_t> underrun_frames_{0};
  std::atomic<uint64_t> frames_played_{0};
  std::atomic<float> peak_{0};
};

// 48 kHz stream -> the JACK server's rate, when they differ (libsamplerate, reader thread).
class Resampler {
 public:
  explicit Resampler(uint32_t to_rate_hz)
      : ratio_(static_cast<double>(to_rate_hz) / kStreamRateHz) {
    int error = 0;
    if (to_rate_hz != kStreamRateHz) state_ = src_new(SRC_SINC_FASTEST, kStreamChannels, &error);
  }
  ~Resampler() {
    if (state_ != nullptr) src_delete(state_);
  }
  Resampler(const Resampler&) = delete;
  Resampler& operator=(const Resampler&) = delete;

  // Returns `in` itself at 48 kHz, else its resampled frames (valid until the next call).
  std::span<const float> convert(std::span<const float> in) {
    if (state_ == nullptr) return in;
    const size_t in_frames = in.size() / kStreamChannels;
    out_.resize((static_cast<size_t>(std::ceil(in_frames * ratio_)) + 64) * kStreamChannels);
    SRC_DATA data{};
    data.data_in = in.data();
    data.input_frames = static_cast<long>(in_frames);
    data.data_out = out_.data();
    data.output_frames = static_cast<long>(out_.size() / kStreamChannels);
    data.src_ratio = ratio_;
    if (src_process(state_, &data) != 0) return {};
    return std::span<const float>(out_.data(),
                                  static_cast<size_t>(data.output_frames_gen) * kStreamChannels);
  }

 private:
  const double ratio_;
  SRC_STATE* state_ = nullptr;
  std::vector<float> out_;
};

}  // namespace

JackListening listen_jack(jam::v1::Jam::Stub& stub, const std::string& participant_token,
                          const JackListenOptions& options) {
  JackListening l;
  StopSignals signals;  // before JACK's threads start: a Ctrl-C while opening ends cleanly too
  jamd::realtime::JackOptions jack;
  jack.client_name = options.client_name;
  jack.server_name = options.server_name;
  jack.auto_connect = options.auto_connect;
  jack.inputs_and_midi = false;  // a player: out_L/out_R only
  absl::StatusOr<std::unique_ptr<jamd::realtime::JackIo>> io = jamd::realtime::make_jack_io(jack);
  if (!io.ok()) {
    l.jack_error = std::string(io.status().message());
    return l;
  }
  l.sample_rate_hz = (*io)->sample_rate_hz();
  const size_t packet_frames = static_cast<size_t>(std::lround(l.sample_rate_hz * kPacketSeconds));
  const size_t buffer_frames =
      static_cast<size_t>(std::max(1, options.buffer_packets)) * packet_frames;
  const size_t latency_limit_frames = buffer_frames + kLatencySlackPackets * packet_frames;
  AudioRing ring(static_cast<size_t>(l.sample_rate_hz * kRingSeconds) + latency_limit_frames,
                 kStreamChannels);
  JitterPlayer player(ring, buffer_frames, (*io)->max_period_frames());
  if (absl::Status s = (*io)->start(&player); !s.ok()) {
    l.jack_error = std::string(s.message());
    return l;
  }

  grpc::ClientContext ctx;  // no deadline: the stream lasts as long as the jam or as asked
  std::atomic<bool> reading_done{false};
  std::thread stopper([&] {
    while (!reading_done.load()) {
      if (g_stop_requested.load()) {
        ctx.TryCancel();
        return;
      }
      std::this_thread::sleep_for(kStopPollInterval);
    }
  });
  jam::v1::ListenAudioRequest req;
  req.set_participant_token(participant_token);
  std::unique_ptr<grpc::ClientReader<jam::v1::AudioPacket>> reader = stub.ListenAudio(&ctx, req);
  StreamDecoder decoder;
  Resampler resampler(l.sample_rate_hz);
  const uint64_t target_frames =
      options.seconds > 0 ? static_cast<uint64_t>(options.seconds * kStreamRateHz) : UINT64_MAX;
  uint64_t frames_received = 0;  // at 48 kHz
  const auto enqueue = [&](std::span<const float> pcm) {
    frames_received += pcm.size() / kStreamChannels;
    if (ring.fill_frames() > latency_limit_frames) {
      ++l.packets_dropped;
      return;
    }
    ring.write_interleaved(resampler.convert(pcm));
  };
  jam::v1::AudioPacket packet;
  while (frames_received < target_frames && reader->Read(&packet)) decoder.decode(packet, enqueue);
  const bool asked_seconds_done = frames_received >= target_frames;
  if (asked_seconds_done) ctx.TryCancel();
  const grpc::Status finished = reader->Finish();
  reading_done.store(true);
  stopper.join();
  l.interrupted = g_stop_requested.load();
  if (!asked_seconds_done && !l.interrupted) {
    l.status = finished;
    l.ended = finished.ok();
  }

  // Let the buffer play out (bounded by what it holds), unless the user asked to stop now.
  player.drain();
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(kRingSeconds + 0.5);
  while (!g_stop_requested.load() && l.status.ok() && ring.fill_frames() > 0 &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(kStopPollInterval);
  }
  l.interrupted = g_stop_requested.load();
  (*io)->stop();
  l.packets = decoder.packets();
  l.packets_lost = decoder.packets_lost();
  l.underruns = player.underruns();
  l.underrun_frames = player.underrun_frames();
  l.frames_played = player.frames_played();
  l.xruns = (*io)->counters().xruns.load();
  l.peak = player.peak();
  return l;
}

}  // namespace jamctl
