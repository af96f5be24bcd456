// Test support for the JACK backend: a real `jackd -d dummy` under a unique server name, started
// and stopped by the test, and a second JACK client ("probe") that plays the musician's side.
//
//   absl::StatusOr<std::unique_ptr<JackServer>> server = JackServer::start(64);
//   Probe probe((*server)->name());            // registers probe:midi_in/midi_out/in/out
//   probe.activate();
//   probe.connect("jamd:midi_out", "probe:midi_in");
//
// Thread safety: the test thread drives everything; the probe's process callback runs on its own
// JACK thread and shares only atomics and preallocated arrays with the test.
#pragma once

#include <jack/jack.h>
#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace jamd::realtime::testing {

// The sample rate every test server runs at.
inline constexpr uint32_t kTestSampleRateHz = 48000;

class JackServer {
 public:
  // Starts `jackd -n <unique> -d dummy -r 48000 -p period_frames` and returns once it accepts
  // clients. Fails with a clear message when jackd is missing, dies, or never becomes ready.
  static absl::StatusOr<std::unique_ptr<JackServer>> start(uint32_t period_frames);
  // The same under a given name: a server started again after kill_now() (a restart).
  static absl::StatusOr<std::unique_ptr<JackServer>> start_named(uint32_t period_frames,
                                                                 const std::string& name);
  ~JackServer();  // stops jackd (SIGTERM, then SIGKILL if it lingers) and reaps it
  JackServer(const JackServer&) = delete;
  JackServer& operator=(const JackServer&) = delete;

  const std::string& name() const { return name_; }
  // Stops the server now (the destructor then has nothing left to do).
  void kill_now();
  // Kills it with SIGKILL, as a crash would: no goodbye to its clients.
  void crash_now();
  // The server's output so far, for failure messages.
  std::string log() const;
  // How many lines of the server's output contain needle (e.g. its xrun reports, which name
  // the cause: "JackTimedDriver::Process XRun" for the dummy driver's own timer, "client = NAME
  // was not finished" for a late client).
  int count_in_log(const std::string& needle) const;

 private:
  JackServer(std::string name, std::string log_path, pid_t pid)
      : name_(std::move(name)), log_path_(std::move(log_path)), pid_(pid) {}
  std::string name_;
  std::string log_path_;
  pid_t pid_;
};

// Xrun reports in a server's log, by cause (jackd names them: the dummy driver's own clock, or
// the client the engine found unfinished when the next period began).
struct XrunReports {
  int client_late = 0;         // the engine found the client's callback unfinished
  int client_not_started = 0;  // of those, the client's RT thread had not even begun the period
  int driver_late = 0;         // the dummy driver's own timer woke after its next deadline

  XrunReports operator-(const XrunReports& o) const {
    return {client_late - o.client_late, client_not_started - o.client_not_started,
            driver_late - o.driver_late};
  }
  // Xruns only the machine can cause: a late clock, or an RT thread that was not even scheduled
  // within its period. A silent callback gets these too on the team's VMs.
  int machine_caused() const { return driver_late + client_not_started; }
  int total() const { return client_late + driver_late; }
};
XrunReports xrun_reports(const JackServer& server, const std::string& client_name);

// The machine's 1-minute load average, for messages.
std::string load_average();

// What a finished child process left: its exit status (-1 if killed or unstartable, e.g. on
// timeout) and everything it wrote to stdout and stderr, interleaved.
struct CommandResult {
  int exit_code = -1;
  bool timed_out = false;
  std::string output;
};

// Runs argv[0] with argv, killing it after timeout_s seconds (a bound so a hang fails the test
// instead of stalling the suite, not a timing assertion).
CommandResult run_command(const std::vector<std::string>& argv, int timeout_s);

// A unique server name that no running jackd uses (for the "no server" test).
std::string unique_server_name(const char* purpose);

// A plain JACK client with one port of each kind, recording what reaches its inputs with JACK's
// absolute frame times, and sending one MIDI message or audio impulse on request.
class Probe {
 public:
  struct MidiSeen {
    uint64_t jack_frame = 0;  // jack_last_frame_time() of the cycle + the event's offset
    uint32_t offset_frames = 0;
    uint8_t size = 0;
    uint8_t bytes[3] = {0, 0, 0};
  };

  explicit Probe(const std::string& server_name);  // asserts on failure (test code)
  ~Probe();
  void activate();
  // Connects two ports by full name; returns jack_connect()'s result (0 on success).
  int connect(const std::string& from, const std::string& to);
  jack_client_t* client() const { return client_; }

  // Arms a one-shot send: on the next cycle, the probe writes the message on probe:midi_out and a
  // 1.0 impulse on probe:out, both at offset_frames.
  void send_once(uint32_t offset_frames, std::array<uint8_t, 3> message);

  // What arrived so far: MIDI on probe:midi_in, and the first audio sample above 0.5 on probe:in.
  std::vector<MidiSeen> midi_seen() const;
  bool impulse_seen(uint64_t* jack_frame, uint32_t* offset_frames) const;
  uint64_t cycles() const { return cycles_.load(std::memory_order_acquire); }

 private:
  static int on_process(jack_nframes_t n_frames, void* self);
  int process(jack_nframes_t n_frames);

  static constexpr size_t kMaxMidiSeen = 256;
  jack_client_t* client_ = nullptr;
  jack_port_t* midi_in_ = nullptr;
  jack_port_t* midi_out_ = nullptr;
  jack_port_t* audio_in_ = nullptr;
  jack_port_t* audio_out_ = nullptr;
  std::array<MidiSeen, kMaxMidiSeen> midi_seen_{};
  std::atomic<size_t> n_midi_seen_{0};
  std::atomic<bool> impulse_seen_{false};
  uint64_t impulse_jack_frame_ = 0;
  uint32_t impulse_offset_frames_ = 0;
  std::atomic<bool> send_armed_{false};
  uint32_t send_offset_frames_ = 0;
  std::array<uint8_t, 3> send_message_{};
  std::atomic<uint64_t> cycles_{0};
};

// Polls predicate every 5 ms until it holds or timeout_ms passes; returns its last value.
// A bound on waiting for the server (so a broken build fails instead of hanging), not a timing
// assertion.
template <typename Predicate>
bool wait_until(Predicate predicate, int timeout_ms);

bool wait_until_impl(bool (*predicate)(void*), void* context, int timeout_ms);

template <typename Predicate>
bool wait_until(Predicate predicate, int timeout_ms) {
  return wait_until_impl([](void* p) { return (*static_cast<Predicate*>(p))(); }, &predicate,
                         timeout_ms);
}

}  // namespace jamd::realtime::testing
