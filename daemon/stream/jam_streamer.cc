// JamStreamer: the streamer thread's loop (wait for a mix block, encode, publish; relay notes).
#include "daemon/stream/jam_streamer.h"

#include <pthread.h>

#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace jamd {
namespace {

// How long the thread waits for a mix block before it looks at notes and the stop flag again.
// Blocks come every host period (5.3 ms at 256 frames), so this bounds only a stalled host.
constexpr absl::Duration kPollInterval = absl::Milliseconds(20);

}  // namespace

absl::StatusOr<std::unique_ptr<JamStreamer>> JamStreamer::start(
    std::shared_ptr<TapQueue<MixBlock>> mix, std::shared_ptr<TapQueue<TappedNote>> notes,
    int32_t mix_rate_hz, std::shared_ptr<FanOut<SharedOpusPacket>> audio_out,
    std::shared_ptr<FanOut<TappedNote>> notes_out, const OpusStreamOptions& options,
    SharedWorker* worker) {
  absl::StatusOr<std::unique_ptr<OpusStreamEncoder>> encoder =
      OpusStreamEncoder::create(mix_rate_hz, options);
  if (!encoder.ok()) return encoder.status();
  std::unique_ptr<JamStreamer> streamer(new JamStreamer(std::move(mix), std::move(notes),
                                                        *std::move(encoder), std::move(audio_out),
                                                        std::move(notes_out)));
  if (worker != nullptr) {
    streamer->worker_ = worker;
    streamer->worker_id_ = worker->add([s = streamer.get()] { s->pump(absl::ZeroDuration()); });
  } else {
    streamer->thread_ = std::thread([s = streamer.get()] { s->run(); });
  }
  return streamer;
}

JamStreamer::JamStreamer(std::shared_ptr<TapQueue<MixBlock>> mix,
                         std::shared_ptr<TapQueue<TappedNote>> notes,
                         std::unique_ptr<OpusStreamEncoder> encoder,
                         std::shared_ptr<FanOut<SharedOpusPacket>> audio_out,
                         std::shared_ptr<FanOut<TappedNote>> notes_out)
    : mix_(std::move(mix)),
      notes_(std::move(notes)),
      encoder_(std::move(encoder)),
      audio_out_(std::move(audio_out)),
      notes_out_(std::move(notes_out)) {}

JamStreamer::~JamStreamer() { stop(); }

void JamStreamer::stop() {
  stopping_.store(true, std::memory_order_release);
  if (mix_ != nullptr) mix_->close();  // wakes the thread at once
  if (thread_.joinable()) thread_.join();
  if (worker_id_ != 0) {
    worker_->remove(worker_id_);
    worker_id_ = 0;
  }
  if (notes_ != nullptr) notes_->close();
}

void JamStreamer::run() {
  pthread_setname_np(pthread_self(), "jam-opus");  // names for top, perf and jam_load_bench
  while (!stopping_.load(std::memory_order_acquire) && pump(kPollInterval)) {
  }
}

bool JamStreamer::pump(absl::Duration wait) {
  const auto publish = [this](OpusPacket&& packet) {
    audio_out_->publish(std::make_shared<const PublishedPacket>(std::move(packet)));
    packets_.fetch_add(1, std::memory_order_relaxed);
  };
  bool any = false;
  for (std::optional<MixBlock> block = mix_->pop_wait(wait); block.has_value();
       block = mix_->pop()) {
    any = true;
    const absl::Time t0 = absl::Now();
    encoder_->encode(*block, publish);
    const double ms = absl::ToDoubleMilliseconds(absl::Now() - t0);
    if (ms > encode_ms_max_.load(std::memory_order_relaxed)) {
      encode_ms_max_.store(ms, std::memory_order_relaxed);
    }
    mix_blocks_.fetch_add(1, std::memory_order_relaxed);
  }
  while (std::optional<TappedNote> note = notes_->pop()) {
    notes_out_->publish(*note);
    notes_published_.fetch_add(1, std::memory_order_relaxed);
  }
  return any || !mix_->finished();  // finished: the host stopped
}

StreamerStats JamStreamer::stats() const {
  StreamerStats s;
  s.mix_blocks = mix_blocks_.load(std::memory_order_relaxed);
  s.mix_blocks_lost = mix_->n_dropped();
  s.packets = packets_.load(std::memory_order_relaxed);
  s.notes = notes_published_.load(std::memory_order_relaxed);
  s.encode_ms_max = encode_ms_max_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace jamd
