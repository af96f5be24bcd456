// A real jackd (dummy driver) per test under a unique name, and the probe client that plays the
// other side of jamd's ports.
#include "tests/realtime/jack/jack_server.h"

#include <fcntl.h>
#include <jack/midiport.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cassert>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

extern char** environ;

namespace jamd::realtime::testing {
namespace {

void ignore_jack_message(const char*) {}

std::string find_on_path(const char* program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/", program);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

bool server_accepts_clients(const std::string& name) {
  jack_status_t status{};
  jack_client_t* c = jack_client_open(
      "jamd-test-ready", static_cast<jack_options_t>(JackNoStartServer | JackServerName), &status,
      name.c_str());
  if (c == nullptr) return false;
  jack_client_close(c);
  return true;
}

bool reaped(pid_t pid) {
  int wstatus = 0;
  return waitpid(pid, &wstatus, WNOHANG) == pid;
}

}  // namespace

bool wait_until_impl(bool (*predicate)(void*), void* context, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!predicate(context)) {
    if (std::chrono::steady_clock::now() > deadline) return predicate(context);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

CommandResult run_command(const std::vector<std::string>& argv, int timeout_s) {
  CommandResult result;
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return result;
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (rc != 0) {
    close(pipe_fds[0]);
    result.output = absl::StrCat("cannot run ", argv[0], ": ", std::strerror(rc));
    return result;
  }
  fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int wstatus = 0;
  bool exited = false;
  char buffer[4096];
  while (true) {
    ssize_t n;
    while ((n = read(pipe_fds[0], buffer, sizeof(buffer))) > 0) result.output.append(buffer, n);
    if (exited) break;
    if (waitpid(pid, &wstatus, WNOHANG) == pid) {
      exited = true;  // one more drain of the pipe
      continue;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &wstatus, 0);
      result.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  close(pipe_fds[0]);
  if (!result.timed_out && WIFEXITED(wstatus)) result.exit_code = WEXITSTATUS(wstatus);
  return result;
}

std::string unique_server_name(const char* purpose) {
  static std::atomic<int> counter{0};
  return absl::StrCat("jamd-test-", purpose, "-", getpid(), "-", counter.fetch_add(1));
}

absl::StatusOr<std::unique_ptr<JackServer>> JackServer::start(uint32_t period_frames) {
  return start_named(period_frames, unique_server_name("server"));
}

absl::StatusOr<std::unique_ptr<JackServer>> JackServer::start_named(uint32_t period_frames,
                                                                    const std::string& name) {
  jack_set_error_function(&ignore_jack_message);
  jack_set_info_function(&ignore_jack_message);
  const std::string jackd = find_on_path("jackd");
  if (jackd.empty()) {
    return absl::NotFoundError(
        "jackd is not on PATH: install Debian's jackd2 (bash scripts/setup.sh does)");
  }
  const std::string log_path = absl::StrCat("/tmp/", name, ".log");
  const std::string period = absl::StrCat(period_frames);
  const std::string rate = absl::StrCat(kTestSampleRateHz);
  const char* argv[] = {jackd.c_str(), "-n",         name.c_str(), "-d",           "dummy",
                        "-r",          rate.c_str(), "-p",         period.c_str(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  const int rc =
      posix_spawn(&pid, jackd.c_str(), &actions, nullptr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("cannot run ", jackd, ": ", std::strerror(rc)));
  }
  std::unique_ptr<JackServer> server(new JackServer(name, log_path, pid));
  // 10 s: jackd is usually ready in well under a second; this only bounds a broken start.
  bool died = false;
  const bool ready = wait_until(
      [&] {
        if (reaped(pid)) {
          died = true;
          return true;
        }
        return server_accepts_clients(name);
      },
      10000);
  if (died || !ready) {
    server->pid_ = died ? 0 : server->pid_;
    return absl::UnavailableError(absl::StrCat("jackd ", died ? "exited" : "never accepted clients",
                                               " (", name, "); its log:\n", server->log()));
  }
  return server;
}

void JackServer::kill_now() {
  if (pid_ == 0) return;
  kill(pid_, SIGTERM);
  // 5 s for a clean exit, then force it: a test must never leave a server behind.
  if (!wait_until([&] { return reaped(pid_); }, 5000)) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_ = 0;
}

void JackServer::crash_now() {
  if (pid_ == 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = 0;
}

JackServer::~JackServer() {
  kill_now();
  std::remove(log_path_.c_str());
}

std::string JackServer::log() const {
  std::ifstream in(log_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int JackServer::count_in_log(const std::string& needle) const {
  std::ifstream in(log_path_);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
  return n;
}

XrunReports xrun_reports(const JackServer& server, const std::string& client_name) {
  return {server.count_in_log(absl::StrCat("client = ", client_name, " was not finished")) +
              server.count_in_log(absl::StrCat("client ", client_name, " finished after")),
          server.count_in_log(
              absl::StrCat("client = ", client_name, " was not finished, state = Triggered")),
          server.count_in_log("JackTimedDriver::Process XRun")};
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one_minute;
  in >> one_minute;
  return one_minute.empty() ? "unknown" : one_minute;
}

Probe::Probe(const std::string& server_name) {
  jack_status_t status{};
  client_ = jack_client_open(
      "probe", static_cast<jack_options_t>(JackNoStartServer | JackServerName | JackUseExactName),
      &status, server_name.c_str());
  assert(client_ != nullptr);
  midi_in_ = jack_port_register(client_, "midi_in", JACK_DEFAULT_MIDI_TYPE, JackPortIsInput, 0);
  midi_out_ = jack_port_register(client_, "midi_out", JACK_DEFAULT_MIDI_TYPE, JackPortIsOutput, 0);
  audio_in_ = jack_port_register(client_, "in", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
  audio_out_ = jack_port_register(client_, "out", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
  assert(midi_in_ && midi_out_ && audio_in_ && audio_out_);
  jack_set_process_callback(client_, &Probe::on_process, this);
}

Probe::~Probe() {
  jack_deactivate(client_);
  jack_client_close(client_);
}

void Probe::activate() {
  const int rc = jack_activate(client_);
  assert(rc == 0);
  (void)rc;
}

int Probe::connect(const std::string& from, const std::string& to) {
  return jack_connect(client_, from.c_str(), to.c_str());
}

void Probe::send_once(uint32_t offset_frames, std::array<uint8_t, 3> message) {
  send_offset_frames_ = offset_frames;
  send_message_ = message;
  send_armed_.store(true, std::memory_order_release);
}

std::vector<Probe::MidiSeen> Probe::midi_seen() const {
  const size_t n = n_midi_seen_.load(std::memory_order_acquire);
  return std::vector<MidiSeen>(midi_seen_.begin(), midi_seen_.begin() + n);
}

bool Probe::impulse_seen(uint64_t* jack_frame, uint32_t* offset_frames) const {
  if (!impulse_seen_.load(std::memory_order_acquire)) return false;
  *jack_frame = impulse_jack_frame_;
  *offset_frames = impulse_offset_frames_;
  return true;
}

int Probe::on_process(jack_nframes_t n_frames, void* self) {
  return static_cast<Probe*>(self)->process(n_frames);
}

int Probe::process(jack_nframes_t n_frames) {
  const uint64_t cycle_start = jack_last_frame_time(client_);
  void* in = jack_port_get_buffer(midi_in_, n_frames);
  size_t n_seen = n_midi_seen_.load(std::memory_order_relaxed);
  for (uint32_t i = 0; i < jack_midi_get_event_count(in) && n_seen < kMaxMidiSeen; ++i) {
    jack_midi_event_t e;
    if (jack_midi_event_get(&e, in, i) != 0) continue;
    MidiSeen& seen = midi_seen_[n_seen++];
    seen.jack_frame = cycle_start + e.time;
    seen.offset_frames = e.time;
    seen.size = static_cast<uint8_t>(e.size < 3 ? e.size : 3);
    std::memcpy(seen.bytes, e.buffer, seen.size);
  }
  n_midi_seen_.store(n_seen, std::memory_order_release);

  const float* audio = static_cast<const float*>(jack_port_get_buffer(audio_in_, n_frames));
  if (!impulse_seen_.load(std::memory_order_relaxed)) {
    for (uint32_t i = 0; i < n_frames; ++i) {
      if (audio[i] > 0.5f) {
        impulse_jack_frame_ = cycle_start + i;
        impulse_offset_frames_ = i;
        impulse_seen_.store(true, std::memory_order_release);
        break;
      }
    }
  }

  void* out = jack_port_get_buffer(midi_out_, n_frames);
  jack_midi_clear_buffer(out);
  float* audio_out = static_cast<float*>(jack_port_get_buffer(audio_out_, n_frames));
  std::memset(audio_out, 0, sizeof(float) * n_frames);
  if (send_armed_.load(std::memory_order_acquire) && send_offset_frames_ < n_frames) {
    jack_midi_event_write(out, send_offset_frames_, send_message_.data(), 3);
    audio_out[send_offset_frames_] = 1.0f;
    send_armed_.store(false, std::memory_order_relaxed);
  }
  cycles_.fetch_add(1, std::memory_order_release);
  return 0;
}

}  // namespace jamd::realtime::testing
