// WatchReactor: EventQueue -> server stream, one write in flight, wake-ups from the session.
#include "daemon/api/watch_reactor.h"

#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "daemon/api/convert.h"

namespace jamd::api {

struct WatchReactor::Core {
  absl::Mutex mu;
  WatchReactor* reactor ABSL_GUARDED_BY(mu) = nullptr;  // null once the reactor is gone
  std::shared_ptr<EventQueue> queue ABSL_GUARDED_BY(mu);
  bool writing ABSL_GUARDED_BY(mu) = false;
  bool cancelled ABSL_GUARDED_BY(mu) = false;
  bool finishing ABSL_GUARDED_BY(mu) = false;
};

WatchReactor::WatchReactor(std::shared_ptr<JamSession> jam, std::shared_ptr<Core> core)
    : jam_(std::move(jam)), core_(std::move(core)) {}

WatchReactor* WatchReactor::start(std::shared_ptr<JamSession> jam,
                                  const std::string& participant_id) {
  auto core = std::make_shared<Core>();
  auto* reactor = new WatchReactor(jam, core);
  {
    absl::MutexLock lock(&core->mu);
    core->reactor = reactor;
  }
  // The callback holds the core, never the reactor: it may run after the reactor is deleted.
  std::weak_ptr<Core> weak = core;
  absl::StatusOr<std::shared_ptr<EventQueue>> queue = jam->watch(participant_id, [weak] {
    if (std::shared_ptr<Core> c = weak.lock()) wake(c);
  });
  if (!queue.ok()) {
    {
      absl::MutexLock lock(&core->mu);
      core->finishing = true;
    }
    reactor->Finish(to_grpc_status(queue.status()));
    return reactor;
  }
  {
    absl::MutexLock lock(&core->mu);
    core->queue = *queue;
  }
  wake(core);
  return reactor;
}

void WatchReactor::wake(const std::shared_ptr<Core>& core) {
  WatchReactor* reactor = nullptr;
  Action action = Action::kNone;
  {
    absl::MutexLock lock(&core->mu);
    reactor = core->reactor;
    if (reactor == nullptr) return;
    action = reactor->next_action_locked();
  }
  // Safe outside the lock: while a write or a finish is pending the reactor cannot be done.
  reactor->act(action);
}

WatchReactor::Action WatchReactor::next_action_locked() {
  Core& c = *core_;
  if (c.writing || c.finishing || c.queue == nullptr) return Action::kNone;
  if (c.cancelled) {
    c.finishing = true;
    return Action::kFinishCancelled;
  }
  if (std::optional<JamEvent> e = c.queue->pop()) {
    out_.Clear();
    to_proto(*e, &out_);
    c.writing = true;
    return Action::kWrite;
  }
  if (c.queue->finished()) {
    c.finishing = true;
    return Action::kFinishOk;
  }
  return Action::kNone;
}

void WatchReactor::act(Action action) {
  switch (action) {
    case Action::kNone:
      return;
    case Action::kWrite:
      StartWrite(&out_);
      return;
    case Action::kFinishOk:
      Finish(grpc::Status::OK);
      return;
    case Action::kFinishCancelled:
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the watch was cancelled"));
      return;
  }
}

void WatchReactor::OnWriteDone(bool ok) {
  Action action;
  {
    absl::MutexLock lock(&core_->mu);
    core_->writing = false;
    if (!ok) core_->cancelled = true;  // the client is gone
    action = next_action_locked();
  }
  act(action);
}

void WatchReactor::OnCancel() {
  Action action;
  {
    absl::MutexLock lock(&core_->mu);
    core_->cancelled = true;
    action = next_action_locked();
  }
  act(action);
}

void WatchReactor::OnDone() {
  std::shared_ptr<EventQueue> queue;
  {
    absl::MutexLock lock(&core_->mu);
    core_->reactor = nullptr;
    queue = core_->queue;
  }
  if (queue != nullptr) jam_->unwatch(queue);
  delete this;
}

}  // namespace jamd::api
