// ListenReactor: one ListenAudio or ListenNotes stream. It drains the listener's own bounded
// TapQueue (from JamMedia) into the stream, one write in flight, woken by the queue's on_ready
// (the jam's streamer thread) and by gRPC's write completions; it never blocks either. A
// listener too slow for the stream loses its own oldest items in the queue (a gap in
// AudioPacket.sequence), never slows the jam or another listener. The stream ends OK when the
// jam ends, CANCELLED when the client goes, and UNAUTHENTICATED when the listener leaves or is
// removed (checked every kRecheckItems items).
//
//   return ListenReactor<OpusPacket, jam::v1::AudioPacket>::start(
//       [&](auto on_ready) { return media->subscribe_audio(jam_id, 50, std::move(on_ready)); },
//       [jam, id] { return jam->participant(id).ok(); }, &to_proto);
//
// Thread safety: gRPC's callbacks and the queue's wake-ups arrive on any thread; all state is
// in a Core guarded by its mutex and shared (weakly) with the wake-up callback, which may
// outlive the reactor.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include <grpcpp/support/server_callback.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "daemon/api/convert.h"
#include "daemon/host/tap_queue.h"

namespace jamd::api {

template <typename Item, typename Proto>
class ListenReactor final : public grpc::ServerWriteReactor<Proto> {
 public:
  using Queue = TapQueue<Item>;
  using Subscribe =
      std::function<absl::StatusOr<std::shared_ptr<Queue>>(std::function<void()> on_ready)>;
  using StillAllowed = std::function<bool()>;
  using Convert = void (*)(const Item&, Proto*);

  // One check of the caller's token per this many items: 50 packets = 0.5 s of audio.
  static constexpr uint64_t kRecheckItems = 50;

  // Subscribes and starts writing; a failed subscription finishes the stream with its status.
  // thread: any (a gRPC handler)
  static ListenReactor* start(const Subscribe& subscribe, StillAllowed still_allowed,
                              Convert convert) {
    auto core = std::make_shared<Core>();
    auto* reactor = new ListenReactor(core, std::move(still_allowed), convert);
    {
      absl::MutexLock lock(&core->mu);
      core->reactor = reactor;
    }
    // The callback holds the core, never the reactor: it may run after the reactor is deleted.
    std::weak_ptr<Core> weak = core;
    absl::StatusOr<std::shared_ptr<Queue>> queue = subscribe([weak] {
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
    // Closing tells the fan-out at once; dropping our reference lets it forget the queue.
    if (queue != nullptr) queue->close();
    delete this;
  }

 private:
  struct Core {
    absl::Mutex mu;
    ListenReactor* reactor ABSL_GUARDED_BY(mu) = nullptr;  // null once the reactor is gone
    std::shared_ptr<Queue> queue ABSL_GUARDED_BY(mu);
    bool writing ABSL_GUARDED_BY(mu) = false;
    bool cancelled ABSL_GUARDED_BY(mu) = false;
    bool finishing ABSL_GUARDED_BY(mu) = false;
    uint64_t n_written ABSL_GUARDED_BY(mu) = 0;
  };
  enum class Action { kNone, kWrite, kFinishOk, kFinishCancelled, kFinishRetired };

  ListenReactor(std::shared_ptr<Core> core, StillAllowed still_allowed, Convert convert)
      : core_(std::move(core)), still_allowed_(std::move(still_allowed)), convert_(convert) {}

  static void wake(const std::shared_ptr<Core>& core) {
    ListenReactor* reactor = nullptr;
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

  // Decides the next step with the core's lock held (and prepares the message to write).
  Action next_action_locked() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    Core& c = *core_;
    if (c.writing || c.finishing || c.queue == nullptr) return Action::kNone;
    if (c.cancelled) {
      c.finishing = true;
      return Action::kFinishCancelled;
    }
    if (std::optional<Item> item = c.queue->pop()) {
      if (++c.n_written % kRecheckItems == 0 && still_allowed_ && !still_allowed_()) {
        c.finishing = true;
        return Action::kFinishRetired;
      }
      out_.Clear();
      convert_(*item, &out_);
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
        this->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the stream was cancelled"));
        return;
      case Action::kFinishRetired:
        this->Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                  "your participant token was retired: you left the jam or the "
                                  "host removed you"));
        return;
    }
  }

  const std::shared_ptr<Core> core_;
  const StillAllowed still_allowed_;
  const Convert convert_;
  Proto out_;  // the message being written (touched only while a write is decided)
};

}  // namespace jamd::api
