// EventQueue: bounded drop-oldest queue of one watcher's events.
#include "daemon/session/event_queue.h"

#include <cassert>
#include <utility>

namespace jamd {

EventQueue::EventQueue(size_t capacity, std::function<void()> on_ready)
    : capacity_(capacity), on_ready_(std::move(on_ready)) {
  assert(capacity_ >= 1);
}

void EventQueue::push(JamEvent event) {
  absl::MutexLock lock(&mu_);
  if (closed_) return;
  if (events_.size() >= capacity_) {
    events_.pop_front();
    ++n_dropped_pending_;
    ++n_dropped_total_;
  }
  events_.push_back(std::move(event));
}

void EventQueue::close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

void EventQueue::notify_ready() const {
  if (on_ready_) on_ready_();
}

std::optional<JamEvent> EventQueue::pop() {
  absl::MutexLock lock(&mu_);
  if (events_.empty()) return std::nullopt;
  if (n_dropped_pending_ > 0) {
    const JamEvent& oldest = events_.front();
    JamEvent notice;
    notice.kind = EventKind::kEventsDropped;
    notice.sequence = oldest.sequence;
    notice.time_unix_ms = oldest.time_unix_ms;
    notice.state = oldest.state;
    notice.locked_paths = oldest.locked_paths;
    notice.participants = oldest.participants;
    notice.n_dropped = n_dropped_pending_;
    n_dropped_pending_ = 0;
    return notice;
  }
  JamEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

bool EventQueue::finished() const {
  absl::MutexLock lock(&mu_);
  return closed_ && events_.empty();
}

uint64_t EventQueue::n_dropped_total() const {
  absl::MutexLock lock(&mu_);
  return n_dropped_total_;
}

}  // namespace jamd
