// EventQueue: one watcher's bounded queue of jam events. A slow watcher drops its own oldest
// events (and is told how many) so that it never slows the jam or anyone else.
//
//   auto q = std::make_shared<jamd::EventQueue>(256, [&] { wake_writer(); });
//   q->push(event);                                  // the session, under the jam's lock
//   while (std::optional<jamd::JamEvent> e = q->pop()) write(*e);  // the watcher
//
// Thread safety: every method may be called from any thread; push and pop never block beyond a
// short internal lock. on_ready is called by notify_ready(), never with the queue's lock held.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "daemon/session/session_types.h"

namespace jamd {

class EventQueue {
 public:
  // capacity: events kept at most (>= 1). on_ready: "there is something to pop" (may be empty).
  EventQueue(size_t capacity, std::function<void()> on_ready);

  // Appends an event; when full, drops the oldest. Ignored after close(). thread: any.
  void push(JamEvent event);
  // No event will follow the queued ones (the jam ended, or the watcher left). thread: any.
  void close();
  // Calls on_ready. The session calls it after releasing the jam's lock. thread: any.
  void notify_ready() const;

  // The next event; after drops, first an kEventsDropped notice carrying the number lost and
  // the state of the oldest event kept. nullopt when empty. thread: any.
  std::optional<JamEvent> pop();
  // Closed and nothing left to pop: the watch is over. thread: any.
  bool finished() const;
  // Events dropped since creation. thread: any.
  uint64_t n_dropped_total() const;

 private:
  const size_t capacity_;
  const std::function<void()> on_ready_;
  mutable absl::Mutex mu_;
  std::deque<JamEvent> events_ ABSL_GUARDED_BY(mu_);
  uint64_t n_dropped_pending_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t n_dropped_total_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace jamd
