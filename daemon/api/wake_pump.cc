// WakePump: a ready list and the threads that drain it.
#include "daemon/api/wake_pump.h"

#include <utility>

namespace jamd::api {

std::shared_ptr<WakePump> WakePump::start(int n_threads) {
  std::shared_ptr<WakePump> pump(new WakePump());
  for (int i = 0; i < (n_threads < 1 ? 1 : n_threads); ++i) {
    pump->threads_.emplace_back([p = pump.get()] { p->run(); });
  }
  return pump;
}

WakePump::~WakePump() { stop(); }

void WakePump::post(const std::shared_ptr<Wakeable>& target) {
  if (target->wake_queued_.exchange(true, std::memory_order_acq_rel)) return;
  absl::MutexLock lock(&mu_);
  if (!stopping_) ready_.push_back(target);
}

void WakePump::stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    ready_.clear();
  }
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void WakePump::run() {
  std::vector<std::weak_ptr<Wakeable>> batch;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !ready_.empty() || stopping_; };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      batch.swap(ready_);
    }
    for (const std::weak_ptr<Wakeable>& weak : batch) {
      if (std::shared_ptr<Wakeable> target = weak.lock()) {
        // Cleared before the call: an item that arrives during on_wake queues a new wake-up.
        target->wake_queued_.store(false, std::memory_order_release);
        target->on_wake();
      }
    }
    batch.clear();
  }
}

}  // namespace jamd::api
