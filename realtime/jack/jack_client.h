// Inside the JACK backend: one JACK client's life (open, ports, process callback), which
// make_jack_io() wraps in a ResilientJackIo that outlives server restarts. Not for other folders:
// they use jack_io.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "realtime/jack/jack_io.h"

namespace jamd::realtime {

// One client on one server run. connected() turns false for good when that server goes away.
class JackClient : public JackIo {
 public:
  // Each of our ports' connections: {our short name, the other port's full name}.
  // thread: control (allocates)
  virtual std::vector<std::pair<std::string, std::string>> connections() const = 0;
  // Connects our port (short name) to another by full name, either direction as the types
  // allow; OK when already connected. thread: control
  virtual absl::Status connect(const std::string& ours, const std::string& theirs) = 0;
};

// What a client shares with the one before it across a reconnect.
struct JackClientShare {
  IoCounters* counters = nullptr;  // count here instead of in the client's own counters
  uint32_t max_period_frames = 0;  // slice periods to this (0: the server's first period)
};

// Opens the client and registers its ports (not yet active); errors as make_jack_io()'s.
// thread: control
absl::StatusOr<std::unique_ptr<JackClient>> open_jack_client(const JackOptions& options,
                                                             const JackClientShare& share);

}  // namespace jamd::realtime
