// HostedJams: the running music behind `jamd serve`. As the session layer's JamStateSink it
// starts a JamHost and its JamStreamer on a jam's first state, posts every later state to the
// host, and stops both when the jam ends; as JamMedia it gives listeners (gRPC, WebSocket) their
// own queues of the jam's Opus packets and notes. Starting and stopping hosts can take a while
// (a synth, a SoundFont, the conductor's plan), so it happens on HostedJams' own control thread:
// the sink's callbacks, which come with the jam's lock held, only queue.
//
//   auto conductor = *Conductor::create({.model_path = "models/band.jamd"});
//   conductor->start();
//   HostedJams hosted([&](JamId id, const JamState& s) {
//     return JamHost::start(id, s, *conductor, {});
//   });
//   SessionRegistry jams(SessionLimits{}, &hosted);   // jams now play
//   auto audio = hosted.subscribe_audio(jam_id, 50, wake);
//   hosted.shutdown();                                  // before the conductor stops
//
// Thread safety: every method may be called from any thread; the sink and media methods never
// block (one short absl::Mutex section). shutdown() and the destructor from the control thread
// of the process (main).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "daemon/host/jam_host.h"
#include "daemon/record/jam_recorder.h"
#include "daemon/session/session_types.h"
#include "daemon/stream/fan_out.h"
#include "daemon/stream/jam_media.h"
#include "daemon/stream/jam_streamer.h"

namespace jamd {

// Starts one jam's host; JamHost::start bound to the process's Conductor in jamd serve.
using JamHostFactory =
    std::function<absl::StatusOr<std::unique_ptr<JamHost>>(JamId id, const JamState& initial)>;

struct HostedJamsOptions {
  OpusStreamOptions opus{};
  size_t mix_queue_blocks = 64;         // the streamer's own mix queue (64 x 256 frames = 340 ms)
  size_t notes_queue_notes = 4096;      // the streamer's own notes queue
  size_t max_listeners_per_jam = 1024;  // audio and notes subscribers each
  // Records every jam into record_directory/<jam id>/ (JamRecorder: jam.mid, mix.wav) while it
  // plays; empty: no recording.
  std::string record_directory;
  // Encode on this shared worker (one pass for every jam, after the hosts' taps: JamStreamer)
  // instead of a streamer thread per jam. Must outlive HostedJams.
  SharedWorker* shared_worker = nullptr;
};

// One jam as HostedJams runs it, for status and benchmarks.
struct HostedJamStats {
  std::string jam_id;
  bool running = false;         // the host started and has not stopped
  std::string error;            // why the host could not start, if it could not
  std::string recording;        // the directory it is recorded into; empty: not recorded
  std::string recording_error;  // why it is not recorded, or the recorder's write error
  JamHostStats host{};
  StreamerStats streamer{};
  size_t n_audio_listeners = 0;
  size_t n_note_listeners = 0;
};

class HostedJams final : public JamStateSink, public JamMedia {
 public:
  explicit HostedJams(JamHostFactory start_host, HostedJamsOptions options = {});
  ~HostedJams() override;  // shutdown()
  HostedJams(const HostedJams&) = delete;
  HostedJams& operator=(const HostedJams&) = delete;

  // JamStateSink: queue only. thread: any (the session layer, with the jam's lock held)
  void on_jam_state(const std::string& jam_id, uint64_t sequence, const JamState& state) override;
  void on_jam_ended(const std::string& jam_id) override;

  // JamMedia: NOT_FOUND for an unknown or ended jam, FAILED_PRECONDITION when its host could not
  // start, RESOURCE_EXHAUSTED past max_listeners_per_jam. A jam whose host is still starting is
  // found: its queues fill once it plays. thread: any
  absl::StatusOr<std::shared_ptr<TapQueue<SharedOpusPacket>>> subscribe_audio(
      const std::string& jam_id, size_t capacity_packets, std::function<void()> on_ready) override;
  absl::StatusOr<std::shared_ptr<TapQueue<TappedNote>>> subscribe_notes(
      const std::string& jam_id, size_t capacity_notes, std::function<void()> on_ready) override;

  // Waits until everything queued before the call has been done (hosts started, states posted,
  // ended jams stopped). For tests, benchmarks and orderly shutdown. thread: any but the control
  void wait_idle();
  std::vector<HostedJamStats> stats() const;  // thread: any
  MediaHealth health() const override;        // thread: any
  // Stops every host and streamer and the control thread; listeners' streams end. Idempotent.
  void shutdown();

 private:
  // A jam from its first state to its end. The fan-outs are shared with listeners' callers.
  // host, streamer and error change only on the control thread, with mu_ held (so stats() may
  // read them under mu_); the control thread stops a host after taking it out.
  struct Jam {
    std::string jam_id;
    JamId id = 0;
    std::shared_ptr<FanOut<SharedOpusPacket>> audio = std::make_shared<FanOut<SharedOpusPacket>>();
    std::shared_ptr<FanOut<TappedNote>> notes = std::make_shared<FanOut<TappedNote>>();
    std::unique_ptr<JamHost> host;
    std::unique_ptr<JamStreamer> streamer;
    std::unique_ptr<JamRecorder> recorder;
    std::string error;
    std::string recording_error;
  };
  struct Task {
    enum class Kind { kStart, kState, kEnd } kind;
    std::shared_ptr<Jam> jam;
    JamState state;
  };

  template <typename T>
  absl::StatusOr<std::shared_ptr<TapQueue<T>>> subscribe(const std::string& jam_id,
                                                         std::shared_ptr<FanOut<T>> Jam::*fan_out,
                                                         size_t capacity,
                                                         std::function<void()> on_ready);
  void run();                                       // thread: control
  void start_jam(Jam& jam, const JamState& state);  // thread: control
  void stop_jam(Jam& jam);                          // thread: control

  const JamHostFactory start_host_;
  const HostedJamsOptions options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Jam>> jams_ ABSL_GUARDED_BY(mu_);
  std::vector<Task> tasks_ ABSL_GUARDED_BY(mu_);
  uint64_t n_posted_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t n_done_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  JamId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::thread control_;
};

}  // namespace jamd
