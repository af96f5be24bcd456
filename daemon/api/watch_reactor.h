// WatchReactor: one WatchJam stream. It drains the watcher's bounded EventQueue into the
// stream, one write at a time, woken by the session when events arrive; it never blocks a
// steering thread and unsubscribes when the client goes away.
//
//   return jamd::api::WatchReactor::start(caller.jam, caller.participant.participant_id);
//
// Thread safety: gRPC's callbacks and the session's wake-ups arrive on any thread; all state is
// guarded by one mutex shared (through a shared_ptr) with the wake-up callback, which outlives
// the reactor.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/support/server_callback.h>

#include "absl/base/thread_annotations.h"

#include "daemon/session/jam_session.h"
#include "jam/v1/jam.pb.h"

namespace jamd::api {

class WatchReactor final : public grpc::ServerWriteReactor<jam::v1::JamEvent> {
 public:
  // Subscribes and starts writing; on failure the stream finishes with the error. thread: any
  // (a gRPC handler).
  static WatchReactor* start(std::shared_ptr<JamSession> jam, const std::string& participant_id);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  struct Core;
  enum class Action { kNone, kWrite, kFinishOk, kFinishCancelled };

  WatchReactor(std::shared_ptr<JamSession> jam, std::shared_ptr<Core> core);
  // Decides the next step with the core's lock held (and prepares the message to write).
  Action next_action_locked() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Runs an action outside the lock.
  void act(Action action);
  static void wake(const std::shared_ptr<Core>& core);

  const std::shared_ptr<JamSession> jam_;
  const std::shared_ptr<Core> core_;
  jam::v1::JamEvent out_;  // the message being written (touched only while a write is decided)
};

}  // namespace jamd::api
