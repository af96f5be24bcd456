// Conductor: the one thread that owns the model engine and every jam's generation state. It takes
// steering snapshots and heard events from a queue that never blocks the poster, keeps each jam
// generated up to its planning horizon, advances all jams in one batched step per token, and
// posts notes to each jam's realtime Scheduler once they are inside the commit horizon.
//
//   auto conductor = Conductor::create({.model_path = "models/band.jamd"});
//   (*conductor)->add_jam(1, state, scheduler, {.sample_rate_hz = 48000, .tempo_bpm = 96});
//   (*conductor)->start();                          // live: its own thread
//   (*conductor)->post_state(1, new_state);         // thread: any (gRPC, WebSocket, CLI)
//   (*conductor)->post_heard(1, heard_event);       // thread: any (the listener)
//   (*conductor)->stop();
//   // Offline, in lockstep with a virtual clock: call service() before each period instead of
//   // start(); the same code runs, on the renderer's thread.
//
// Thread safety: the post_* / add / remove methods may be called from any thread (a short
// absl::Mutex section appends to a vector: no waiting on generation). service() and record()
// run on the conductor thread only: the one start() creates, or the caller's when not started.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "daemon/conductor/conducted_jam.h"
#include "models/engine/backend_registry.h"
#include "models/generate/band_generator.h"

namespace jamd {

struct ConductorOptions {
  std::string model_path;  // the .jamd weights (required)
  // The registry picks: CUDA when built in and a device works, else the CPU (and says why).
  models::BackendKind backend = models::BackendKind::kAuto;
  // bf16 weights and KV caches: a live jam's tokens come sooner; renders keep float32
  // (OfflineJamOptions::precision) so that they are the reference.
  models::Precision precision = models::Precision::kReduced;
  int32_t max_jams = 16;
  Horizons horizons{};
  TempoOptions tempo{};          // following the musician's beats, steered ramps
  AccompanyOptions accompany{};  // the room left to the musician
  // The generator's pitch bias. Bass and keys in bars whose chords the musician gave (heard or
  // predicted) lean harder on their chord tones than the model's own harmony does
  // (docs/conductor.md, measured).
  // The notes that answer a heard chord lean to the tones that tell it from the chord before.
  models::PitchBias pitch_bias{.out_of_key = -0.5f,
                               .non_chord_tone = -0.75f,
                               .non_chord_tone_pad_lead = 0.0f,
                               .forced_non_chord_tone = -2.5f,
                               .answer_tone = 3.0f};
  // How long the live thread sleeps between rounds when nothing is posted.
  double idle_wait_ms = 2.0;
};

class Conductor {
 public:
  static absl::StatusOr<std::unique_ptr<Conductor>> create(const ConductorOptions& options);
  ~Conductor();  // stops the thread
  Conductor(const Conductor&) = delete;
  Conductor& operator=(const Conductor&) = delete;

  // The jam plays through `scheduler` (which must outlive it); its seed is the state's (0: 1).
  void add_jam(JamId id, const JamState& state, realtime::Scheduler& scheduler,
               const JamTimelineOptions& timeline);  // thread: any
  void remove_jam(JamId id);                         // thread: any
  // remove_jam(), then waits until the live thread has applied it, so the caller may destroy the
  // jam's scheduler. Without a live thread (not started, or stopped) it returns at once: the
  // caller then owns the next service(). thread: any but the conductor's
  void remove_jam_and_wait(JamId id);
  void post_state(JamId id, const JamState& state);              // thread: any
  void post_heard(JamId id, const realtime::HeardEvent& event);  // thread: any

  void start();  // thread: control — runs service() on its own thread until stop()
  void stop();   // thread: control
  // One round: apply what was posted, generate what is due (one batch for all jams), commit.
  // An error stops the jam that caused it and is returned. thread: conductor
  absl::Status service();

  // A jam's record (what it played and heard); nullptr when unknown. thread: conductor, or after
  // stop()
  const JamRecord* record(JamId id) const;
  // The first error of the live thread, if any. thread: any
  absl::Status status() const;
  const std::string& backend_description() const { return backend_description_; }

 private:
  struct AddJam {
    JamState state;
    realtime::Scheduler* scheduler;
    JamTimelineOptions timeline;
  };
  struct RemoveJam {};
  using Payload = std::variant<AddJam, RemoveJam, JamState, realtime::HeardEvent>;
  struct Command {
    JamId id;
    Payload payload;
  };

  Conductor(const ConductorOptions& options, models::BackendChoice backend);
  void post(Command command);
  absl::Status apply(Command& command);
  absl::Status generate_due();
  // One batched step of `generators`. Live it runs in groups of jams, and stops after the group
  // that ends past `chunk_end` (*cut: the groups after it wait for the next chunk). Returns how
  // many jams stepped.
  absl::StatusOr<int> step_in_groups(std::span<models::BandGenerator* const> generators,
                                     std::chrono::steady_clock::time_point chunk_end, bool* cut);
  // Posts every jam's notes that entered its commit horizon (but the jams in `except`).
  void post_all_due(const std::vector<ConductedJam*>* except);
  void run();

  ConductorOptions options_;
  models::BackendChoice engine_;
  std::string backend_description_;
  models::GenerationBatch batch_;
  size_t first_group_ = 0;  // live: the step group a chunk starts with (step_in_groups)
  double step_ms_ = 0.0;    // live: a batched step's wall time, running mean (sizes the chunks)
  std::map<JamId, std::unique_ptr<ConductedJam>> jams_;  // thread: conductor
  std::map<JamId, realtime::Scheduler*> schedulers_;     // thread: conductor
  std::vector<Command> drained_;                         // thread: conductor

  mutable absl::Mutex mutex_;
  std::vector<Command> queue_ ABSL_GUARDED_BY(mutex_);
  absl::Status status_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  bool running_ ABSL_GUARDED_BY(mutex_) = false;  // the live thread is in run()
  uint64_t removals_posted_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t removals_applied_ ABSL_GUARDED_BY(mutex_) = 0;
  std::thread thread_;
};

}  // namespace jamd
