// FanOut: one jam's subscribers of one kind of item (Opus packets, notes). The publisher pushes
// each item into every subscriber's own bounded drop-oldest TapQueue; a slow subscriber loses
// its own items and never slows the publisher or another subscriber. A subscriber leaves by
// dropping its queue: the fan-out holds only weak references and forgets expired ones.
//
//   FanOut<SharedOpusPacket> audio;
//   std::shared_ptr<TapQueue<SharedOpusPacket>> q = audio.subscribe(50, [&] { wake(); });
//   audio.publish(packet);   // the streamer thread
//   audio.close();           // the jam ended: every queue closes, later subscribers get closed
//   ones
//
// Thread safety: every method may be called from any thread; one short absl::Mutex section
// (never held while pushing, so on_ready callbacks run without it).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "daemon/host/tap_queue.h"

namespace jamd {

template <typename T>
class FanOut {
 public:
  // A new subscriber's queue; already closed when the fan-out is. thread: any
  std::shared_ptr<TapQueue<T>> subscribe(size_t capacity, std::function<void()> on_ready) {
    auto queue = std::make_shared<TapQueue<T>>(capacity, std::move(on_ready));
    bool closed = false;
    {
      absl::MutexLock lock(&mu_);
      closed = closed_;
      if (!closed) subscribers_.push_back(queue);
    }
    if (closed) queue->close();
    return queue;
  }

  // Pushes a copy of `item` to every live subscriber. thread: any (one publisher per fan-out
  // keeps items in order)
  void publish(const T& item) {
    std::vector<std::shared_ptr<TapQueue<T>>> live = live_subscribers();
    for (const auto& q : live) q->push(item);
  }

  // Closes every subscriber's queue; nothing is published after. Idempotent. thread: any
  void close() {
    std::vector<std::weak_ptr<TapQueue<T>>> subscribers;
    {
      absl::MutexLock lock(&mu_);
      closed_ = true;
      subscribers.swap(subscribers_);
    }
    for (const auto& weak : subscribers) {
      if (auto q = weak.lock()) q->close();
    }
  }

  size_t n_subscribers() {  // live ones; thread: any
    return live_subscribers().size();
  }

 private:
  std::vector<std::shared_ptr<TapQueue<T>>> live_subscribers() {
    std::vector<std::shared_ptr<TapQueue<T>>> live;
    absl::MutexLock lock(&mu_);
    live.reserve(subscribers_.size());
    std::erase_if(subscribers_, [&](const std::weak_ptr<TapQueue<T>>& weak) {
      std::shared_ptr<TapQueue<T>> q = weak.lock();
      if (q == nullptr) return true;
      live.push_back(std::move(q));
      return false;
    });
    return live;
  }

  absl::Mutex mu_;
  std::vector<std::weak_ptr<TapQueue<T>>> subscribers_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace jamd
