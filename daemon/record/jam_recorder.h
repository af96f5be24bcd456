// JamRecorder: records a live jam while it plays: the band and the musician as a multi-track
// MIDI file (jam.mid), the mix (mix.wav) and the musician's audio input (input.wav, when the jam
// has one), into one directory. Written incrementally so that a crash or `kill -9` loses at most
// about the last second and what is on disk stays readable: the WAVs are appended as the audio
// comes and their header sizes patched every second; the MIDI file is rebuilt and atomically
// renamed over the old one every second. docs/live.md has the reasons.
//
//   auto recorder = JamRecorder::start(*host, state, {.directory = "takes/tonight"});
//   if (!recorder.ok()) { /* one line: the directory and why it cannot be written */ }
//   ...
//   (*recorder)->stop();          // after host->stop() it has every last frame; also the dtor
//
// Thread safety: start() and stop() from one control thread; the recorder's own thread drains
// its subscriber queues (a full queue drops its own oldest blocks, never the jam's).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "daemon/host/jam_host.h"
#include "daemon/jam/jam_state.h"

namespace jamd {

// Also what `jamd serve` passes per jam.
struct RecordingOptions {
  std::string directory;           // created if missing (with parents)
  bool record_input = true;        // input.wav, when the jam has audio inputs
  double commit_interval_s = 1.0;  // the most a crash can lose, beyond what was not yet tapped
  // Subscriber queues, in seconds of material: how long a stalled disk may stall the recorder
  // before it loses its own oldest blocks.
  double queue_seconds = 10.0;
};

struct RecordingPaths {
  std::string midi;   // jam.mid
  std::string mix;    // mix.wav
  std::string input;  // input.wav (created when the first input block arrives)
};

struct RecorderStats {
  uint64_t mix_frames = 0;
  uint64_t input_frames = 0;
  uint64_t notes = 0;
  uint64_t commits = 0;
  uint64_t blocks_dropped = 0;  // the recorder's queues overflowed (the disk stalled)
};

class JamRecorder {
 public:
  // Creates the directory and the files at once, so an unwritable place fails before the jam.
  static absl::StatusOr<std::unique_ptr<JamRecorder>> start(JamHost& host, const JamState& state,
                                                            const RecordingOptions& options);
  ~JamRecorder();
  JamRecorder(const JamRecorder&) = delete;
  JamRecorder& operator=(const JamRecorder&) = delete;

  // Writes what is queued, commits and stops. Idempotent. thread: control
  void stop();
  // The first write error, if any (the recorder stops writing then). thread: any
  absl::Status status() const;
  RecorderStats stats() const;  // thread: any
  const RecordingPaths& paths() const { return paths_; }

 private:
  class Writer;
  explicit JamRecorder(RecordingPaths paths);
  void run_every(double commit_interval_s);

  RecordingPaths paths_;
  std::unique_ptr<Writer> writer_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  mutable absl::Mutex mu_;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  RecorderStats stats_ ABSL_GUARDED_BY(mu_);
  bool stopped_ = false;  // thread: control
};

}  // namespace jamd
