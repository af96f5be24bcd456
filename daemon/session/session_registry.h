// SessionRegistry: every jam of the daemon, its join tokens (one per role, cryptographically
// random) and the participant tokens that name callers after they join.
//
//   SessionRegistry jams(SessionLimits{}, &conductor_sink);
//   CreatedJam c = *jams.create_jam(/*tempo_bpm=*/0);
//   Joined j = *jams.join(c.player_token, "ana");          // role from the token
//   Caller me = *jams.authenticate(j.participant_token);   // UNAUTHENTICATED if unknown
//   me.jam->steer(me.participant.participant_id, values, {"tempo_bpm"});
//
// Thread safety: every method may be called from any thread; one internal absl::Mutex, never
// held while a JamSession's lock is taken.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "daemon/session/jam_session.h"

namespace jamd {

struct CreatedJam {
  std::string jam_id;
  std::string host_token;
  std::string player_token;
  std::string listener_token;
};

struct Joined {
  std::string jam_id;
  Participant participant;
  std::string participant_token;
  JamState state;
};

struct Caller {
  std::shared_ptr<JamSession> jam;
  Participant participant;
};

struct RegistryCounts {
  size_t n_jams = 0;
  size_t n_participants = 0;
  size_t n_watchers = 0;
};

// A 128-bit random secret from the kernel's CSPRNG (getrandom), hex, with a readable prefix.
std::string random_token(const char* prefix);

class SessionRegistry {
 public:
  explicit SessionRegistry(SessionLimits limits = {}, JamStateSink* sink = nullptr);

  // tempo_bpm 0 keeps the default; otherwise 30..300. thread: any.
  absl::StatusOr<CreatedJam> create_jam(double tempo_bpm);
  // UNAUTHENTICATED for a token that no jam issued. thread: any.
  absl::StatusOr<Joined> join(const std::string& join_token, std::string display_name);
  // The caller behind a participant token. thread: any.
  absl::StatusOr<Caller> authenticate(const std::string& participant_token) const;
  // Leave / remove / end, also retiring the tokens involved. thread: any.
  absl::Status leave(const std::string& participant_token);
  absl::Status remove(const std::string& participant_token, const std::string& target_id);
  absl::Status end(const std::string& participant_token);

  RegistryCounts counts() const;  // thread: any

 private:
  struct JoinTarget {
    std::string jam_id;
    Role role;
  };
  struct ParticipantRef {
    std::string jam_id;
    std::string participant_id;
  };
  absl::StatusOr<ParticipantRef> find_ref(const std::string& participant_token) const
      ABSL_LOCKS_EXCLUDED(mu_);
  std::shared_ptr<JamSession> find_jam(const std::string& jam_id) const ABSL_LOCKS_EXCLUDED(mu_);
  void retire_participant(const std::string& jam_id, const std::string& participant_id)
      ABSL_LOCKS_EXCLUDED(mu_);
  void retire_jam(const std::string& jam_id) ABSL_LOCKS_EXCLUDED(mu_);

  const SessionLimits limits_;
  JamStateSink* const sink_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<JamSession>> jams_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, JoinTarget> join_tokens_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, ParticipantRef> participant_tokens_ ABSL_GUARDED_BY(mu_);
};

}  // namespace jamd
