// TapQueue: one subscriber's bounded queue of what a jam played (mix blocks, notes). The tap
// thread pushes; when the queue is full the oldest item goes, so a slow subscriber loses its own
// items and never slows the jam or another subscriber.
//
//   auto q = std::make_shared<TapQueue<MixBlock>>(64, [&] { wake_reader(); });
//   q->push(block);                                  // the tap thread
//   while (std::optional<MixBlock> b = q->pop()) use(*b);  // the subscriber
//
// Thread safety: every method may be called from any thread; nothing blocks beyond a short lock.
// on_ready runs after the lock is released, on the pusher's thread: it must not block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace jamd {

template <typename T>
class TapQueue {
 public:
  // capacity >= 1; on_ready may be empty.
  TapQueue(size_t capacity, std::function<void()> on_ready)
      : capacity_(capacity < 1 ? 1 : capacity), on_ready_(std::move(on_ready)) {}

  // Appends; drops the oldest when full. Ignored after close(). thread: any
  void push(T item) {
    {
      absl::MutexLock lock(&mu_);
      if (closed_) return;
      if (items_.size() == capacity_) {
        items_.pop_front();
        ++n_dropped_;
      }
      items_.push_back(std::move(item));
    }
    if (on_ready_) on_ready_();
  }
  // Nothing will follow the queued items (the jam stopped, or the subscriber left). thread: any
  void close() {
    {
      absl::MutexLock lock(&mu_);
      if (closed_) return;
      closed_ = true;
    }
    if (on_ready_) on_ready_();
  }
  std::optional<T> pop() {  // thread: any
    absl::MutexLock lock(&mu_);
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }
  // Waits up to `timeout` for an item or close(); for subscribers with a thread of their own.
  std::optional<T> pop_wait(absl::Duration timeout) {  // thread: any
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !items_.empty() || closed_; };
    mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }
  bool finished() const {  // closed and drained. thread: any
    absl::MutexLock lock(&mu_);
    return closed_ && items_.empty();
  }
  uint64_t n_dropped() const {  // thread: any
    absl::MutexLock lock(&mu_);
    return n_dropped_;
  }

 private:
  const size_t capacity_;
  const std::function<void()> on_ready_;
  mutable absl::Mutex mu_;
  std::deque<T> items_ ABSL_GUARDED_BY(mu_);
  uint64_t n_dropped_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace jamd
