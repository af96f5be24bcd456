// SharedWorker: the pass over every jam's work, once per wake-up.
#include "daemon/host/shared_worker.h"

#include <pthread.h>

#include <algorithm>
#include <cassert>
#include <chrono>

#include "daemon/host/thread_priority.h"

namespace jamd {

SharedWorker::SharedWorker(const SharedWorkerOptions& options) : options_(options) {
  thread_ = std::thread([this] { run(); });
}

SharedWorker::~SharedWorker() {
  {
    absl::MutexLock lock(&mu_);
    assert(work_.empty() && "SharedWorker: work outlived its worker");
    stopping_ = true;
  }
  thread_.join();
}

SharedWorker::Id SharedWorker::add(std::function<void()> work) {
  absl::MutexLock lock(&mu_);
  const Id id = next_id_++;
  work_.emplace_back(id, std::make_shared<std::function<void()>>(std::move(work)));
  return id;
}

void SharedWorker::remove(Id id) {
  absl::MutexLock lock(&mu_);
  std::erase_if(work_, [id](const auto& w) { return w.first == id; });
  // A pass under way may have taken the work before it was erased; the next one will not.
  const uint64_t seen = passes_;
  auto after = [this, seen]()
                   ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return passes_ > seen || stopping_; };
  mu_.Await(absl::Condition(&after));
}

void SharedWorker::run() {
  pthread_setname_np(pthread_self(), options_.thread_name);
  if (options_.nice != 0) set_thread_nice(options_.nice);
  const auto period = std::chrono::microseconds(static_cast<int64_t>(options_.wake_ms * 1000));
  auto next = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<std::function<void()>>> pass;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      pass.clear();
      for (const auto& [id, work] : work_) pass.push_back(work);
    }
    for (const auto& work : pass) (*work)();
    {
      absl::MutexLock lock(&mu_);
      ++passes_;
    }
    // A fixed grid, not a sleep after the work: the pass rate stays the same under load.
    next += period;
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now;
    std::this_thread::sleep_until(next);
  }
}

}  // namespace jamd
