// JamStreamer: one running jam's streamer thread. It takes the host's mix blocks and notes from
// the two subscriptions it was given, encodes the mix to Opus once, and publishes packets and
// notes to the jam's listeners (FanOut: one bounded drop-oldest queue each, holding pointers to
// one shared copy of each packet). It only encodes and publishes: listeners' transports pull
// from their queues on their own threads. The thread may block on its input; it never blocks
// the host's tap thread or a listener.
//
//   auto audio = std::make_shared<FanOut<SharedOpusPacket>>();
//   auto notes = std::make_shared<FanOut<TappedNote>>();
//   auto streamer = *JamStreamer::start(host->subscribe_mix(64, {}), host->subscribe_notes(1024,
//   {}),
//                                       host->sample_rate_hz(), audio, notes, {});
//   ...
//   streamer->stop();   // also in the destructor; the fan-outs stay open (their owner closes them)
//
// Thread safety: start/stop from one control thread; stats() from any thread. With a
// SharedWorker, "the streamer thread" below is that worker's.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "daemon/host/jam_host.h"
#include "daemon/host/shared_worker.h"
#include "daemon/host/tap_queue.h"
#include "daemon/stream/fan_out.h"
#include "daemon/stream/jam_media.h"
#include "daemon/stream/opus_stream_encoder.h"

namespace jamd {

struct StreamerStats {
  uint64_t mix_blocks = 0;       // blocks taken from the host
  uint64_t mix_blocks_lost = 0;  // the streamer's own mix queue overflowed (it fell behind)
  uint64_t packets = 0;          // Opus packets published
  uint64_t notes = 0;            // notes published
  double encode_ms_max = 0;      // the slowest block's encode
};

class JamStreamer {
 public:
  // Starts the thread, or with `worker` joins that shared worker's passes instead (started after
  // its host, it encodes in the same pass the blocks the host's tap cut). Errors: the encoder's
  // (an unusable sample rate or frame size).
  static absl::StatusOr<std::unique_ptr<JamStreamer>> start(
      std::shared_ptr<TapQueue<MixBlock>> mix, std::shared_ptr<TapQueue<TappedNote>> notes,
      int32_t mix_rate_hz, std::shared_ptr<FanOut<SharedOpusPacket>> audio_out,
      std::shared_ptr<FanOut<TappedNote>> notes_out, const OpusStreamOptions& options,
      SharedWorker* worker = nullptr);
  ~JamStreamer();
  JamStreamer(const JamStreamer&) = delete;
  JamStreamer& operator=(const JamStreamer&) = delete;

  // Ends the thread (within one poll interval) and drops the subscriptions. Idempotent.
  void stop();                  // thread: control
  StreamerStats stats() const;  // thread: any

 private:
  JamStreamer(std::shared_ptr<TapQueue<MixBlock>> mix, std::shared_ptr<TapQueue<TappedNote>> notes,
              std::unique_ptr<OpusStreamEncoder> encoder,
              std::shared_ptr<FanOut<SharedOpusPacket>> audio_out,
              std::shared_ptr<FanOut<TappedNote>> notes_out);
  void run();  // thread: streamer
  // Encodes and publishes what is queued, waiting up to `wait` for a first block; false once the
  // host has stopped and everything was published. thread: streamer (or the shared worker)
  bool pump(absl::Duration wait);

  std::shared_ptr<TapQueue<MixBlock>> mix_;
  std::shared_ptr<TapQueue<TappedNote>> notes_;
  std::unique_ptr<OpusStreamEncoder> encoder_;  // thread: streamer
  const std::shared_ptr<FanOut<SharedOpusPacket>> audio_out_;
  const std::shared_ptr<FanOut<TappedNote>> notes_out_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> mix_blocks_{0};
  std::atomic<uint64_t> packets_{0};
  std::atomic<uint64_t> notes_published_{0};
  std::atomic<double> encode_ms_max_{0};
  std::thread thread_;
  SharedWorker* worker_ = nullptr;  // instead of thread_, when given
  SharedWorker::Id worker_id_ = 0;
};

}  // namespace jamd
