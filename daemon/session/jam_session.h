// JamSession: one jam's participants, roles, locks, merged steering state and event log, with
// the merge rules of ARCHITECTURE.md "Steering with several people". Plain C++, no protobuf.
//
//   JamSession jam("jam-1f2e", JamState{}, SessionLimits{}, &conductor_sink);
//   Participant p = *jam.join(Role::kPlayer, "ana");
//   JamState values; values.tempo_bpm = 120;
//   absl::StatusOr<SteerResult> r = jam.steer(p.participant_id, values, {"tempo_bpm"});
//   auto q = *jam.watch(p.participant_id, [] { /* wake the writer */ });  // snapshot queued
//
// Rules: host and players steer; listeners only watch. A steer names the fields it changes;
// others keep their value. Fields are last-writer-wins unless the host locked them; "mood" is
// per participant and the state's mood is every participant's prompts merged by weight. Each
// participant has a token-bucket rate limit on steering. Every change gets the next sequence
// number, goes to every watcher as an event naming who made it, and to the JamStateSink.
//
// Thread safety: every method may be called from any thread (one internal absl::Mutex, held
// briefly; nothing blocks). Watchers' on_ready callbacks run after the lock is released.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "daemon/jam/jam_state.h"
#include "daemon/session/event_queue.h"
#include "daemon/session/session_types.h"

namespace jamd {

struct SessionLimits {
  size_t max_jams = 64;
  size_t max_participants_per_jam = 64;
  size_t max_watchers_per_jam = 128;
  size_t watcher_queue_events = 256;  // a watcher further behind loses its oldest events
  double steer_rate_per_s = 20;       // steady steering rate per participant (token refill)
  double steer_burst = 40;            // steers allowed at once before the rate applies
};

struct SteerResult {
  uint64_t sequence = 0;
  JamState state;
};

class JamSession {
 public:
  // sink may be null. thread: any.
  JamSession(std::string jam_id, JamState initial, SessionLimits limits, JamStateSink* sink);
  JamSession(const JamSession&) = delete;
  JamSession& operator=(const JamSession&) = delete;

  const std::string& jam_id() const { return jam_id_; }

  // Adds a participant; RESOURCE_EXHAUSTED when the jam is full. thread: any.
  absl::StatusOr<Participant> join(Role role, std::string display_name);
  // Changes the named fields (paths as field_paths.h). Errors: PERMISSION_DENIED (listener, or
  // a locked field for a non-host), INVALID_ARGUMENT (path, range, mood word),
  // RESOURCE_EXHAUSTED (rate limit), NOT_FOUND (not in the jam). thread: any.
  absl::StatusOr<SteerResult> steer(const std::string& participant_id, const JamState& values,
                                    const std::vector<std::string>& paths);
  // Locks or unlocks paths (host only); returns every locked leaf path. thread: any.
  absl::StatusOr<std::vector<std::string>> set_locks(const std::string& participant_id,
                                                     const std::vector<std::string>& paths,
                                                     bool locked);
  // Leaves; the participant's mood prompts go and their watches end. thread: any.
  absl::Status leave(const std::string& participant_id);
  // The host removes another participant. thread: any.
  absl::Status remove(const std::string& host_id, const std::string& target_id);
  // The host ends the jam: every watch gets kJamEnded and closes. thread: any.
  absl::Status end(const std::string& host_id);

  // Opens a watch: a queue with the snapshot already in it. thread: any.
  absl::StatusOr<std::shared_ptr<EventQueue>> watch(const std::string& participant_id,
                                                    std::function<void()> on_ready);
  // Closes a watch (the client went away). Idempotent. thread: any.
  void unwatch(const std::shared_ptr<EventQueue>& queue);

  absl::StatusOr<Participant> participant(const std::string& participant_id) const;
  JamState state() const;
  uint64_t sequence() const;
  bool ended() const;
  size_t n_participants() const;
  size_t n_watchers() const;

 private:
  struct Member {
    Participant who;
    std::vector<MoodPrompt> mood;  // this participant's own prompts
    double steer_tokens = 0;       // token bucket for the rate limit
    int64_t last_refill_ns = 0;
  };
  struct Watcher {
    std::string participant_id;
    std::shared_ptr<EventQueue> queue;
  };

  absl::StatusOr<Member*> find_member(const std::string& participant_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status check_rate(Member& m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<MoodPrompt> merged_mood() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  JamEvent make_event(EventKind kind, const Participant* by) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Gives the event the next sequence number, queues it for every watcher, tells the sink.
  // Returns the queues to notify once the lock is released.
  std::vector<std::shared_ptr<EventQueue>> publish(JamEvent event, bool state_changed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<std::shared_ptr<EventQueue>> drop_member(const std::string& participant_id,
                                                       EventKind kind, const Participant* by)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string jam_id_;
  const SessionLimits limits_;
  JamStateSink* const sink_;
  mutable absl::Mutex mu_;
  JamState state_ ABSL_GUARDED_BY(mu_);
  uint64_t sequence_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_participant_ ABSL_GUARDED_BY(mu_) = 1;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Member> members_ ABSL_GUARDED_BY(mu_);  // in join order (mood merge order)
  std::vector<std::string> locked_paths_ ABSL_GUARDED_BY(mu_);
  std::vector<Watcher> watchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace jamd
