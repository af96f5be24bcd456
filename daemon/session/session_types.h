// The plain C++ vocabulary of jam sessions: roles, participants, events, and the seam through
// which merged states reach the conductor. No protobuf here (daemon/api/ translates).
//
//   class MyConductorSink : public jamd::JamStateSink {
//     void on_jam_state(const std::string& jam_id, uint64_t sequence,
//                       const jamd::JamState& state) override { queue_.push(...); }
//     void on_jam_ended(const std::string& jam_id) override { ... }
//   };
//
// Thread safety: value types; JamStateSink's methods are called from any thread (see below).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "daemon/jam/jam_state.h"

namespace jamd {

enum class Role {
  kHost,      // steers, locks fields, removes participants, ends the jam
  kPlayer,    // steers
  kListener,  // watches and listens only
};
const char* role_name(Role role);  // "host", "player", "listener"

struct Participant {
  std::string participant_id;  // public, e.g. "p2"
  std::string display_name;
  Role role = Role::kListener;
};

enum class EventKind {
  kSnapshot,       // the first event of a watch
  kSteered,        // changed_paths were steered
  kJoined,         // subject_participant_id joined
  kLeft,           // subject_participant_id left
  kRemoved,        // the host removed subject_participant_id
  kLocksChanged,   // changed_paths were locked or unlocked
  kJamEnded,       // the last event of a watch
  kEventsDropped,  // this watcher lost n_dropped events (it was too slow)
};

struct JamEvent {
  uint64_t sequence = 0;  // rises by one per change of the jam
  int64_t time_unix_ms = 0;
  EventKind kind = EventKind::kSnapshot;
  Participant by;  // who made the change (empty for snapshots and drop notices)
  std::vector<std::string> changed_paths;
  std::string subject_participant_id;
  JamState state;  // the full state after this event
  std::vector<std::string> locked_paths;
  std::vector<Participant> participants;
  uint64_t n_dropped = 0;
};

// Where merged states go: the conductor implements this. Calls come in sequence order for a
// jam, from whichever thread made the change, with that jam's lock held.
// thread: any; implementations must not block and must not call back into the session layer.
class JamStateSink {
 public:
  virtual ~JamStateSink() = default;
  // The jam's state after a change (also once at creation, with sequence 0).
  virtual void on_jam_state(const std::string& jam_id, uint64_t sequence,
                            const JamState& state) = 0;
  // The jam ended: drop its generation state.
  virtual void on_jam_ended(const std::string& jam_id) = 0;
};

}  // namespace jamd
