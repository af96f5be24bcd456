// SessionRegistry: jams by id, join tokens by role, participant tokens.
#include "daemon/session/session_registry.h"

#include <sys/random.h>

#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "daemon/session/field_paths.h"

namespace jamd {
namespace {

constexpr size_t kTokenBytes = 16;  // 128 bits: unguessable, and short enough to paste
constexpr size_t kJamIdBytes = 6;

std::string random_hex(size_t n_bytes) {
  std::string bytes(n_bytes, '\0');
  size_t filled = 0;
  while (filled < n_bytes) {
    const ssize_t n = getrandom(bytes.data() + filled, n_bytes - filled, 0);
    if (n < 0 && errno == EINTR) continue;
    // No randomness means no safe tokens: a bug in the environment, not something to serve with.
    assert(n > 0 && "getrandom failed");
    if (n <= 0) std::abort();
    filled += static_cast<size_t>(n);
  }
  return absl::BytesToHexString(bytes);
}

absl::Status unknown_token() {
  return absl::UnauthenticatedError(
      "unknown or retired token: check that you copied it whole, and that the jam has not "
      "ended and you have not left or been removed");
}

}  // namespace

std::string random_token(const char* prefix) {
  return absl::StrCat(prefix, random_hex(kTokenBytes));
}

SessionRegistry::SessionRegistry(SessionLimits limits, JamStateSink* sink)
    : limits_(limits), sink_(sink) {}

absl::StatusOr<CreatedJam> SessionRegistry::create_jam(double tempo_bpm) {
  JamState initial;
  if (tempo_bpm != 0) {
    initial.tempo_bpm = tempo_bpm;
    if (absl::Status st = validate_fields(initial, {"tempo_bpm"}); !st.ok()) return st;
  }
  CreatedJam created;
  created.jam_id = absl::StrCat("jam-", random_hex(kJamIdBytes));
  created.host_token = random_token("jh_");
  created.player_token = random_token("jp_");
  created.listener_token = random_token("jl_");
  {
    absl::MutexLock lock(&mu_);
    if (jams_.size() >= limits_.max_jams) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "jamd runs ", limits_.max_jams, " jams already; end one before creating another"));
    }
  }
  // The session tells the sink about the initial state; it does so without our lock held.
  auto session = std::make_shared<JamSession>(created.jam_id, initial, limits_, sink_);
  absl::MutexLock lock(&mu_);
  jams_[created.jam_id] = std::move(session);
  join_tokens_[created.host_token] = JoinTarget{created.jam_id, Role::kHost};
  join_tokens_[created.player_token] = JoinTarget{created.jam_id, Role::kPlayer};
  join_tokens_[created.listener_token] = JoinTarget{created.jam_id, Role::kListener};
  return created;
}

std::shared_ptr<JamSession> SessionRegistry::find_jam(const std::string& jam_id) const {
  absl::MutexLock lock(&mu_);
  auto it = jams_.find(jam_id);
  return it == jams_.end() ? nullptr : it->second;
}

absl::StatusOr<Joined> SessionRegistry::join(const std::string& join_token,
                                             std::string display_name) {
  JoinTarget target;
  {
    absl::MutexLock lock(&mu_);
    auto it = join_tokens_.find(join_token);
    if (it == join_tokens_.end()) return unknown_token();
    target = it->second;
  }
  std::shared_ptr<JamSession> jam = find_jam(target.jam_id);
  if (jam == nullptr) return unknown_token();
  absl::StatusOr<Participant> who = jam->join(target.role, std::move(display_name));
  if (!who.ok()) return who.status();
  Joined joined;
  joined.jam_id = target.jam_id;
  joined.participant = *who;
  joined.participant_token = random_token("jt_");
  joined.state = jam->state();
  absl::MutexLock lock(&mu_);
  participant_tokens_[joined.participant_token] =
      ParticipantRef{target.jam_id, who->participant_id};
  return joined;
}

absl::StatusOr<SessionRegistry::ParticipantRef> SessionRegistry::find_ref(
    const std::string& participant_token) const {
  absl::MutexLock lock(&mu_);
  auto it = participant_tokens_.find(participant_token);
  if (it == participant_tokens_.end()) return unknown_token();
  return it->second;
}

absl::StatusOr<Caller> SessionRegistry::authenticate(const std::string& participant_token) const {
  absl::StatusOr<ParticipantRef> ref = find_ref(participant_token);
  if (!ref.ok()) return ref.status();
  std::shared_ptr<JamSession> jam = find_jam(ref->jam_id);
  if (jam == nullptr) return unknown_token();
  absl::StatusOr<Participant> who = jam->participant(ref->participant_id);
  if (!who.ok()) return unknown_token();
  return Caller{std::move(jam), *std::move(who)};
}

void SessionRegistry::retire_participant(const std::string& jam_id,
                                         const std::string& participant_id) {
  absl::MutexLock lock(&mu_);
  absl::erase_if(participant_tokens_, [&](const auto& entry) {
    return entry.second.jam_id == jam_id && entry.second.participant_id == participant_id;
  });
}

void SessionRegistry::retire_jam(const std::string& jam_id) {
  absl::MutexLock lock(&mu_);
  jams_.erase(jam_id);
  absl::erase_if(join_tokens_, [&](const auto& entry) { return entry.second.jam_id == jam_id; });
  absl::erase_if(participant_tokens_,
                 [&](const auto& entry) { return entry.second.jam_id == jam_id; });
}

absl::Status SessionRegistry::leave(const std::string& participant_token) {
  absl::StatusOr<Caller> caller = authenticate(participant_token);
  if (!caller.ok()) return caller.status();
  if (absl::Status st = caller->jam->leave(caller->participant.participant_id); !st.ok()) return st;
  retire_participant(caller->jam->jam_id(), caller->participant.participant_id);
  return absl::OkStatus();
}

absl::Status SessionRegistry::remove(const std::string& participant_token,
                                     const std::string& target_id) {
  absl::StatusOr<Caller> caller = authenticate(participant_token);
  if (!caller.ok()) return caller.status();
  if (absl::Status st = caller->jam->remove(caller->participant.participant_id, target_id);
      !st.ok()) {
    return st;
  }
  retire_participant(caller->jam->jam_id(), target_id);
  return absl::OkStatus();
}

absl::Status SessionRegistry::end(const std::string& participant_token) {
  absl::StatusOr<Caller> caller = authenticate(participant_token);
  if (!caller.ok()) return caller.status();
  if (absl::Status st = caller->jam->end(caller->participant.participant_id); !st.ok()) return st;
  retire_jam(caller->jam->jam_id());
  return absl::OkStatus();
}

RegistryCounts SessionRegistry::counts() const {
  std::vector<std::shared_ptr<JamSession>> jams;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, jam] : jams_) jams.push_back(jam);
  }
  RegistryCounts c;
  c.n_jams = jams.size();
  for (const auto& jam : jams) {
    c.n_participants += jam->n_participants();
    c.n_watchers += jam->n_watchers();
  }
  return c;
}

}  // namespace jamd
