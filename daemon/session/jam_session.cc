// JamSession: roles, locks, per-participant moods and rate limits, and the event log.
#include "daemon/session/jam_session.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "daemon/session/field_paths.h"

namespace jamd {
namespace {

constexpr size_t kMaxDisplayNameBytes = 64;

int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void notify_all(const std::vector<std::shared_ptr<EventQueue>>& queues) {
  for (const auto& q : queues) q->notify_ready();
}

bool may_steer(Role role) { return role == Role::kHost || role == Role::kPlayer; }

}  // namespace

const char* role_name(Role role) {
  switch (role) {
    case Role::kHost:
      return "host";
    case Role::kPlayer:
      return "player";
    case Role::kListener:
      return "listener";
  }
  return "?";
}

JamSession::JamSession(std::string jam_id, JamState initial, SessionLimits limits,
                       JamStateSink* sink)
    : jam_id_(std::move(jam_id)), limits_(limits), sink_(sink), state_(std::move(initial)) {
  state_.mood.clear();  // moods belong to participants
  if (sink_ != nullptr) {
    absl::MutexLock lock(&mu_);
    sink_->on_jam_state(jam_id_, sequence_, state_);
  }
}

absl::StatusOr<JamSession::Member*> JamSession::find_member(const std::string& participant_id) {
  for (Member& m : members_) {
    if (m.who.participant_id == participant_id) return &m;
  }
  return absl::NotFoundError(absl::StrCat("participant '", participant_id, "' is not in jam ",
                                          jam_id_,
                                          " (left or removed); join again with a join token"));
}

absl::StatusOr<Participant> JamSession::join(Role role, std::string display_name) {
  if (display_name.size() > kMaxDisplayNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat("display_name is ", display_name.size(),
                                                   " bytes; at most ", kMaxDisplayNameBytes));
  }
  std::vector<std::shared_ptr<EventQueue>> to_notify;
  Participant who;
  {
    absl::MutexLock lock(&mu_);
    if (ended_) return absl::NotFoundError(absl::StrCat("jam ", jam_id_, " has ended"));
    if (members_.size() >= limits_.max_participants_per_jam) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "jam ", jam_id_, " is full (", limits_.max_participants_per_jam, " participants)"));
    }
    who.participant_id = absl::StrCat("p", next_participant_++);
    who.display_name = display_name.empty() ? who.participant_id : std::move(display_name);
    who.role = role;
    Member m;
    m.who = who;
    m.steer_tokens = limits_.steer_burst;
    m.last_refill_ns = steady_now_ns();
    members_.push_back(std::move(m));
    JamEvent e = make_event(EventKind::kJoined, &who);
    e.subject_participant_id = who.participant_id;
    to_notify = publish(std::move(e), /*state_changed=*/false);
  }
  notify_all(to_notify);
  return who;
}

absl::Status JamSession::check_rate(Member& m) {
  const int64_t now_ns = steady_now_ns();
  m.steer_tokens = std::min(limits_.steer_burst,
                            m.steer_tokens + limits_.steer_rate_per_s * 1e-9 *
                                                 static_cast<double>(now_ns - m.last_refill_ns));
  m.last_refill_ns = now_ns;
  if (m.steer_tokens < 1.0) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "participant ", m.who.participant_id, " steers faster than ", limits_.steer_rate_per_s,
        " changes per second (burst ", limits_.steer_burst, "); wait a moment and retry"));
  }
  m.steer_tokens -= 1.0;
  return absl::OkStatus();
}

absl::StatusOr<SteerResult> JamSession::steer(const std::string& participant_id,
                                              const JamState& values,
                                              const std::vector<std::string>& paths) {
  absl::StatusOr<std::vector<std::string>> leaves = expand_paths(paths);
  if (!leaves.ok()) return leaves.status();
  if (absl::Status st = validate_fields(values, *leaves); !st.ok()) return st;
  std::vector<std::shared_ptr<EventQueue>> to_notify;
  SteerResult result;
  {
    absl::MutexLock lock(&mu_);
    if (ended_) return absl::NotFoundError(absl::StrCat("jam ", jam_id_, " has ended"));
    absl::StatusOr<Member*> m = find_member(participant_id);
    if (!m.ok()) return m.status();
    Member& member = **m;
    if (!may_steer(member.who.role)) {
      return absl::PermissionDeniedError(
          absl::StrCat("participant ", participant_id,
                       " is a listener: listeners cannot steer; join with "
                       "the player token to steer"));
    }
    if (member.who.role != Role::kHost) {
      for (const std::string& leaf : *leaves) {
        if (std::find(locked_paths_.begin(), locked_paths_.end(), leaf) != locked_paths_.end()) {
          return absl::PermissionDeniedError(absl::StrCat(
              "field '", leaf, "' is locked by the host; only the host may change it"));
        }
      }
    }
    if (absl::Status st = check_rate(member); !st.ok()) return st;
    copy_fields(values, *leaves, &state_);
    if (std::find(leaves->begin(), leaves->end(), "mood") != leaves->end()) {
      member.mood = values.mood;
      state_.mood = merged_mood();
    }
    JamEvent e = make_event(EventKind::kSteered, &member.who);
    e.changed_paths = *leaves;
    to_notify = publish(std::move(e), /*state_changed=*/true);
    result.sequence = sequence_;
    result.state = state_;
  }
  notify_all(to_notify);
  return result;
}

absl::StatusOr<std::vector<std::string>> JamSession::set_locks(
    const std::string& participant_id, const std::vector<std::string>& paths, bool locked) {
  absl::StatusOr<std::vector<std::string>> leaves = expand_paths(paths);
  if (!leaves.ok()) return leaves.status();
  std::vector<std::shared_ptr<EventQueue>> to_notify;
  std::vector<std::string> result;
  {
    absl::MutexLock lock(&mu_);
    if (ended_) return absl::NotFoundError(absl::StrCat("jam ", jam_id_, " has ended"));
    absl::StatusOr<Member*> m = find_member(participant_id);
    if (!m.ok()) return m.status();
    if ((*m)->who.role != Role::kHost) {
      return absl::PermissionDeniedError(absl::StrCat("participant ", participant_id, " is a ",
                                                      role_name((*m)->who.role),
                                                      ": only the host may lock fields"));
    }
    if (absl::Status st = check_rate(**m); !st.ok()) return st;
    for (const std::string& leaf : *leaves) {
      auto it = std::find(locked_paths_.begin(), locked_paths_.end(), leaf);
      if (locked && it == locked_paths_.end()) locked_paths_.push_back(leaf);
      if (!locked && it != locked_paths_.end()) locked_paths_.erase(it);
    }
    // Keep JamState's field order so everyone sees the same list.
    std::vector<std::string> ordered;
    for (const std::string& leaf : all_leaf_paths()) {
      if (std::find(locked_paths_.begin(), locked_paths_.end(), leaf) != locked_paths_.end()) {
        ordered.push_back(leaf);
      }
    }
    locked_paths_ = ordered;
    JamEvent e = make_event(EventKind::kLocksChanged, &(*m)->who);
    e.changed_paths = *leaves;
    to_notify = publish(std::move(e), /*state_changed=*/false);
    result = locked_paths_;
  }
  notify_all(to_notify);
  return result;
}

std::vector<std::shared_ptr<EventQueue>> JamSession::drop_member(const std::string& participant_id,
                                                                 EventKind kind,
                                                                 const Participant* by) {
  members_.erase(
      std::remove_if(members_.begin(), members_.end(),
                     [&](const Member& m) { return m.who.participant_id == participant_id; }),
      members_.end());
  std::vector<MoodPrompt> mood = merged_mood();
  const bool mood_changed = mood.size() != state_.mood.size() ||
                            !std::equal(mood.begin(), mood.end(), state_.mood.begin(),
                                        [](const MoodPrompt& a, const MoodPrompt& b) {
                                          return a.text == b.text && a.weight == b.weight;
                                        });
  state_.mood = std::move(mood);
  JamEvent e = make_event(kind, by);
  e.subject_participant_id = participant_id;
  if (mood_changed) e.changed_paths = {"mood"};
  std::vector<std::shared_ptr<EventQueue>> to_notify = publish(std::move(e), mood_changed);
  // The participant's own watches end after this event.
  for (auto it = watchers_.begin(); it != watchers_.end();) {
    if (it->participant_id == participant_id) {
      it->queue->close();
      it = watchers_.erase(it);
    } else {
      ++it;
    }
  }
  return to_notify;
}

absl::Status JamSession::leave(const std::string& participant_id) {
  std::vector<std::shared_ptr<EventQueue>> to_notify;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Member*> m = find_member(participant_id);
    if (!m.ok()) return m.status();
    const Participant who = (*m)->who;
    to_notify = drop_member(participant_id, EventKind::kLeft, &who);
  }
  notify_all(to_notify);
  return absl::OkStatus();
}

absl::Status JamSession::remove(const std::string& host_id, const std::string& target_id) {
  std::vector<std::shared_ptr<EventQueue>> to_notify;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Member*> host = find_member(host_id);
    if (!host.ok()) return host.status();
    if ((*host)->who.role != Role::kHost) {
      return absl::PermissionDeniedError(absl::StrCat("participant ", host_id, " is a ",
                                                      role_name((*host)->who.role),
                                                      ": only the host may remove participants"));
    }
    if (host_id == target_id) {
      return absl::InvalidArgumentError(
          "the host cannot remove themselves; use LeaveJam or EndJam");
    }
    const Participant by = (*host)->who;
    if (absl::StatusOr<Member*> target = find_member(target_id); !target.ok()) {
      return target.status();
    }
    to_notify = drop_member(target_id, EventKind::kRemoved, &by);
  }
  notify_all(to_notify);
  return absl::OkStatus();
}

absl::Status JamSession::end(const std::string& host_id) {
  std::vector<std::shared_ptr<EventQueue>> to_notify;
  {
    absl::MutexLock lock(&mu_);
    if (ended_) return absl::NotFoundError(absl::StrCat("jam ", jam_id_, " has ended"));
    absl::StatusOr<Member*> host = find_member(host_id);
    if (!host.ok()) return host.status();
    if ((*host)->who.role != Role::kHost) {
      return absl::PermissionDeniedError(absl::StrCat("participant ", host_id, " is a ",
                                                      role_name((*host)->who.role),
                                                      ": only the host may end the jam"));
    }
    to_notify = publish(make_event(EventKind::kJamEnded, &(*host)->who), false);
    ended_ = true;
    for (Watcher& w : watchers_) w.queue->close();
    watchers_.clear();
    if (sink_ != nullptr) sink_->on_jam_ended(jam_id_);
  }
  notify_all(to_notify);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<EventQueue>> JamSession::watch(const std::string& participant_id,
                                                              std::function<void()> on_ready) {
  auto queue = std::make_shared<EventQueue>(limits_.watcher_queue_events, std::move(on_ready));
  {
    absl::MutexLock lock(&mu_);
    if (ended_) return absl::NotFoundError(absl::StrCat("jam ", jam_id_, " has ended"));
    if (absl::StatusOr<Member*> m = find_member(participant_id); !m.ok()) return m.status();
    if (watchers_.size() >= limits_.max_watchers_per_jam) {
      return absl::ResourceExhaustedError(absl::StrCat("jam ", jam_id_, " has ",
                                                       limits_.max_watchers_per_jam,
                                                       " watchers already; close one first"));
    }
    JamEvent snapshot = make_event(EventKind::kSnapshot, nullptr);
    snapshot.sequence = sequence_;
    queue->push(std::move(snapshot));
    watchers_.push_back(Watcher{participant_id, queue});
  }
  queue->notify_ready();
  return queue;
}

void JamSession::unwatch(const std::shared_ptr<EventQueue>& queue) {
  queue->close();
  absl::MutexLock lock(&mu_);
  watchers_.erase(std::remove_if(watchers_.begin(), watchers_.end(),
                                 [&](const Watcher& w) { return w.queue == queue; }),
                  watchers_.end());
}

std::vector<MoodPrompt> JamSession::merged_mood() const {
  // Same text (case-insensitive) from several participants: weights add up.
  std::vector<MoodPrompt> merged;
  for (const Member& m : members_) {
    for (const MoodPrompt& p : m.mood) {
      const std::string text = absl::AsciiStrToLower(p.text);
      auto it = std::find_if(merged.begin(), merged.end(),
                             [&](const MoodPrompt& q) { return q.text == text; });
      if (it == merged.end()) {
        merged.push_back(MoodPrompt{text, p.weight});
      } else {
        it->weight += p.weight;
      }
    }
  }
  std::stable_sort(merged.begin(), merged.end(),
                   [](const MoodPrompt& a, const MoodPrompt& b) { return a.weight > b.weight; });
  return merged;
}

JamEvent JamSession::make_event(EventKind kind, const Participant* by) const {
  JamEvent e;
  e.kind = kind;
  e.time_unix_ms = absl::ToUnixMillis(absl::Now());
  if (by != nullptr) e.by = *by;
  e.state = state_;
  e.locked_paths = locked_paths_;
  for (const Member& m : members_) e.participants.push_back(m.who);
  return e;
}

std::vector<std::shared_ptr<EventQueue>> JamSession::publish(JamEvent event, bool state_changed) {
  event.sequence = ++sequence_;
  if (state_changed && sink_ != nullptr) sink_->on_jam_state(jam_id_, sequence_, state_);
  std::vector<std::shared_ptr<EventQueue>> queues;
  for (const Watcher& w : watchers_) {
    w.queue->push(event);
    queues.push_back(w.queue);
  }
  return queues;
}

absl::StatusOr<Participant> JamSession::participant(const std::string& participant_id) const {
  absl::MutexLock lock(&mu_);
  for (const Member& m : members_) {
    if (m.who.participant_id == participant_id) return m.who;
  }
  return absl::NotFoundError(
      absl::StrCat("participant '", participant_id, "' is not in jam ", jam_id_));
}

JamState JamSession::state() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

uint64_t JamSession::sequence() const {
  absl::MutexLock lock(&mu_);
  return sequence_;
}

bool JamSession::ended() const {
  absl::MutexLock lock(&mu_);
  return ended_;
}

size_t JamSession::n_participants() const {
  absl::MutexLock lock(&mu_);
  return members_.size();
}

size_t JamSession::n_watchers() const {
  absl::MutexLock lock(&mu_);
  return watchers_.size();
}

}  // namespace jamd
