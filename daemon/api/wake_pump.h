// WakePump: takes stream wake-ups off the threads that produce items (the jam's streamer, a
// steering handler) and runs them on its own threads, where a stream reactor starts its next
// gRPC write. The producer only marks the target and queues a pointer; so publishing one packet
// to 256 listeners costs the streamer 256 queue pushes, not 256 gRPC writes.
//
//   auto pump = WakePump::start(1);
//   struct Target : Wakeable { void on_wake() override { start_next_write(); } };
//   pump->post(target);          // any thread; a target already queued is not queued twice
//   pump->stop();                // also in the destructor; queued wake-ups are dropped
//
// Thread safety: post() from any thread (one short absl::Mutex section, never blocks on a
// target); on_wake runs on any pump thread, so a target guards its own state.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace jamd::api {

class Wakeable {
 public:
  virtual ~Wakeable() = default;
  virtual void on_wake() = 0;  // thread: a pump thread

 private:
  friend class WakePump;
  std::atomic<bool> wake_queued_{false};  // collapses wake-ups that arrive before the pump runs
};

class WakePump {
 public:
  static std::shared_ptr<WakePump> start(int n_threads);
  ~WakePump();  // stop()
  WakePump(const WakePump&) = delete;
  WakePump& operator=(const WakePump&) = delete;

  // Queues target->on_wake() unless it is queued already. Held weakly: a target that goes
  // away before its turn is skipped. thread: any
  void post(const std::shared_ptr<Wakeable>& target);
  // Ends the threads; later posts are ignored. Idempotent. thread: the owner (not a pump thread)
  void stop();

 private:
  WakePump() = default;
  void run();  // thread: pump

  absl::Mutex mu_;
  std::vector<std::weak_ptr<Wakeable>> ready_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace jamd::api
