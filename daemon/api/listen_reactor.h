// ListenReactor: one server stream fed from the caller's own bounded queue: ListenAudio (the
// jam's Opus packets), ListenNotes and WatchJam (the jam's events). One write in flight; the
// next starts from gRPC's write completion, or, when the stream was idle, from a WakePump
// thread woken by the queue: never on the thread that pushed (the jam's streamer, a steering
// handler). Writes carry no buffer hint: in gRPC 1.51 a hinted write's completion can wait for
// the next flush, for an idle stream the keepalive ping 30 s later. A subscriber too slow for the
// stream loses its own oldest items in its queue (a gap in AudioPacket.sequence,
// EVENT_KIND_EVENTS_DROPPED for a watch) and never slows the jam or anyone else. The stream ends OK
// when the queue finishes (the jam ended), CANCELLED when the client goes, and UNAUTHENTICATED when
// still_allowed turns false (checked every kRecheckItems items).
//
//   using Reactor = ListenReactor<TapQueue<TappedNote>, jam::v1::NoteEvent>;
//   Reactor::Hooks hooks;
//   hooks.convert = &to_proto;
//   hooks.still_allowed = [jam, id] { return jam->participant(id).ok(); };
//   return Reactor::start(
//       [&](auto on_ready) { return media->subscribe_notes(jam_id, 512, std::move(on_ready)); },
//       std::move(hooks), pump);
//
// Queue: pop() -> std::optional<Item>, finished(), and close() unless Hooks::release is given.
// Thread safety: gRPC's callbacks and the pump's wake-ups arrive on any thread; all state is in
// a Core guarded by its mutex and shared (weakly) with the queue's wake-up callback, which may
// outlive the reactor.
#pragma once

#include <grpcpp/support/server_callback.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "daemon/api/convert.h"
#include "daemon/api/wake_pump.h"

namespace jamd::api {

template <typename Queue, typename Message>
class ListenReactor final : public grpc::ServerWriteReactor<Message> {
 public:
  using Item = typename decltype(std::declval<Queue&>().pop())::value_type;
  using Subscribe =
      std::function<absl::StatusOr<std::shared_ptr<Queue>>(std::function<void()> on_ready)>;

  struct Hooks {
    void (*convert)(const Item&, Message*) = nullptr;
    // Whether the caller may still read; empty: always.
    std::function<bool()> still_allowed;
    // Gives the queue back when the stream is done; empty: close it (a fan-out then forgets it).
    std::function<void(const std::shared_ptr<Queue>&)> release;
    const char* cancelled_message = "the stream was cancelled";
  };

  // One check of still_allowed per this many items: 50 packets = 0.5 s of audio.
  static constexpr uint64_t kRecheckItems = 50;

  // Subscribes and starts writing; a failed subscription finishes the stream with its status.
  // pump may be null: wake-ups then start writes on the pushing thread. thread: any (a handler)
  static ListenReactor* start(const Subscribe& subscribe, Hooks hooks,
                              std::shared_ptr<WakePump> pump) {
    auto core = std::make_shared<Core>();
    auto* reactor = new ListenReactor(core, std::move(hooks));
    {
      absl::MutexLock lock(&core->mu);
      core->reactor = reactor;
    }
    // The callback holds the core and the pump weakly, never the reactor: it may run after the
    // reactor is deleted.
    std::weak_ptr<Core> weak_core = core;
    std::weak_ptr<WakePump> weak_pump = pump;
    const bool pumped = pump != nullptr;
    absl::StatusOr<std::shared_ptr<Queue>> queue = subscribe([weak_core, weak_pump, pumped] {
      std::shared_ptr<Core> c = weak_core.lock();
      if (c == nullptr) return;
      if (!pumped) return c->on_wake();
      if (std::shared_ptr<WakePump> p = weak_pump.lock()) p->post(c);
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
    core->on_wake();  // the snapshot or whatever is queued already
    return reactor;
  }

  void OnWriteDone(bool ok) override {
    Action action;
    {
      absl::MutexLock lock(&core_->mu);
      core_->writing = false;
      if (!ok) core_->cancelled = true;  // the client is gone
      action = next_action_locked();
    }
    act(action);
  }
  void OnCancel() override {
    Action action;
    {
      absl::MutexLock lock(&core_->mu);
      core_->cancelled = true;
      action = next_action_locked();
    }
    act(action);
  }
  void OnDone() override {
    std::shared_ptr<Queue> queue;
    {
      absl::MutexLock lock(&core_->mu);
      core_->reactor = nullptr;
      queue = std::move(core_->queue);
    }
    if (queue != nullptr) {
      if (hooks_.release) {
        hooks_.release(queue);
      } else {
        queue->close();  // tells the fan-out at once; dropping our reference lets it forget us
      }
    }
    delete this;
  }

 private:
  struct Core final : Wakeable {
    absl::Mutex mu;
    ListenReactor* reactor ABSL_GUARDED_BY(mu) = nullptr;  // null once the reactor is gone
    std::shared_ptr<Queue> queue ABSL_GUARDED_BY(mu);
    bool writing ABSL_GUARDED_BY(mu) = false;
    bool cancelled ABSL_GUARDED_BY(mu) = false;
    bool finishing ABSL_GUARDED_BY(mu) = false;
    uint64_t n_written ABSL_GUARDED_BY(mu) = 0;

    void on_wake() override {
      ListenReactor* r = nullptr;
      Action action = Action::kNone;
      {
        absl::MutexLock lock(&mu);
        r = reactor;
        if (r == nullptr) return;
        action = r->next_action_locked();
      }
      // Safe outside the lock: while a write or a finish is pending the reactor cannot be done.
      r->act(action);
    }
  };
  enum class Action { kNone, kWrite, kFinishOk, kFinishCancelled, kFinishRetired };

  ListenReactor(std::shared_ptr<Core> core, Hooks hooks)
      : core_(std::move(core)), hooks_(std::move(hooks)) {}

  // Decides the next step with the core's lock held (and prepares the message to write).
  Action next_action_locked() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    Core& c = *core_;
    if (c.writing || c.finishing || c.queue == nullptr) return Action::kNone;
    if (c.cancelled) {
      c.finishing = true;
      return Action::kFinishCancelled;
    }
    if (std::optional<Item> item = c.queue->pop()) {
      if (++c.n_written % kRecheckItems == 0 && hooks_.still_allowed && !hooks_.still_allowed()) {
        c.finishing = true;
        return Action::kFinishRetired;
      }
      out_.Clear();
      hooks_.convert(*item, &out_);
      c.writing = true;
      return Action::kWrite;
    }
    if (c.queue->finished()) {
      c.finishing = true;
      return Action::kFinishOk;
    }
    return Action::kNone;
  }

  void act(Action action) {
    switch (action) {
      case Action::kNone:
        return;
      case Action::kWrite:
        this->StartWrite(&out_);
        return;
      case Action::kFinishOk:
        this->Finish(grpc::Status::OK);
        return;
      case Action::kFinishCancelled:
        this->Finish(grpc::Status(grpc::StatusCode::CANCELLED, hooks_.cancelled_message));
        return;
      case Action::kFinishRetired:
        this->Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                  "your participant token was retired: you left the jam or the "
                                  "host removed you"));
        return;
    }
  }

  const std::shared_ptr<Core> core_;
  const Hooks hooks_;
  Message out_;  // the message being written (touched only while deciding)
};

}  // namespace jamd::api
