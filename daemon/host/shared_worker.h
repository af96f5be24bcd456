// SharedWorker: one thread that runs the periodic non-RT work of many jams (`jamd serve`): each
// jam's tap drain and listener pass, and its Opus encoding, in one pass every few milliseconds,
// instead of three threads per jam each waking on its own (32 jams: 96 threads and ~15,000
// wake-ups a second, against 200). Work added later runs later in the same pass, so a streamer
// added after its host encodes the blocks the host's tap cut in that very pass.
//
//   SharedWorker worker({.wake_ms = 5});
//   const SharedWorker::Id id = worker.add([&] { fanout.drain(); });   // thread: control
//   ...
//   worker.remove(id);   // returns once the work is not running and will not run again
//
// The work may allocate, lock briefly and post, never block for long: it delays every other
// jam's work. Thread safety: add() and remove() from any thread but the worker's.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace jamd {

struct SharedWorkerOptions {
  double wake_ms = 5.0;  // as the per-jam tap and listener threads (docs/live.md)
  const char* thread_name = "jam-workers";
  int nice = 0;  // the thread's nice value (best effort; thread_priority.h)
};

class SharedWorker {
 public:
  using Id = uint64_t;

  explicit SharedWorker(const SharedWorkerOptions& options = {});
  ~SharedWorker();  // every piece of work must have been removed
  SharedWorker(const SharedWorker&) = delete;
  SharedWorker& operator=(const SharedWorker&) = delete;

  Id add(std::function<void()> work);  // thread: any but the worker's
  void remove(Id id);                  // thread: any but the worker's

 private:
  void run();  // thread: worker

  const SharedWorkerOptions options_;
  // Not held while the work runs (a pass may take longer than a wake-up when the machine is
  // busy, and add() must not starve); remove() waits for the pass that may still run the work.
  absl::Mutex mu_;
  std::vector<std::pair<Id, std::shared_ptr<std::function<void()>>>> work_ ABSL_GUARDED_BY(mu_);
  uint64_t passes_ ABSL_GUARDED_BY(mu_) = 0;  // passes finished
  Id next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace jamd
