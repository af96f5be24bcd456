// `jamctl listen --jack`, the real binary, against a real jamd (the bundled model, a jam on the
// real-time virtual clock, the gRPC API on loopback) and a real `jackd -d dummy`: its ports
// exist and connect to the system playback, a second JACK client hears the jam on them, and
// Ctrl-C ends it cleanly; without a JACK server it says so in one line.
#include <fcntl.h>
#include <jack/jack.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/daemon/api/music_loopback.h"
#include "tests/realtime/jack/jack_server.h"

extern char** environ;

namespace jamd::api::testing {
namespace {

namespace jt = jamd::realtime::testing;

constexpr uint32_t kPeriodFrames = 256;
constexpr int kWaitMs = 60000;  // bounds a wait on a starved machine; never an assertion
const std::string kClient = "jamctl-test";

// A JACK client with two inputs that keeps the loudest sample it has heard.
class Recorder {
 public:
  explicit Recorder(const std::string& server_name) {
    jack_status_t status{};
    client_ = jack_client_open("recorder",
                               static_cast<jack_options_t>(JackNoStartServer | JackServerName),
                               &status, server_name.c_str());
    EXPECT_NE(client_, nullptr) << "cannot open the recorder client";
    if (client_ == nullptr) return;
    for (int i = 0; i < 2; ++i) {
      in_[i] = jack_port_register(client_, i == 0 ? "in_L" : "in_R", JACK_DEFAULT_AUDIO_TYPE,
                                  JackPortIsInput, 0);
    }
    jack_set_process_callback(client_, &Recorder::on_process, this);
    jack_activate(client_);
  }
  ~Recorder() {
    if (client_ != nullptr) jack_client_close(client_);
  }
  bool ok() const { return client_ != nullptr; }
  jack_client_t* client() const { return client_; }
  float peak(int channel) const { return peak_[channel].load(); }

 private:
  static int on_process(jack_nframes_t n_frames, void* self) {
    auto* r = static_cast<Recorder*>(self);
    for (int c = 0; c < 2; ++c) {
      const auto* in = static_cast<const float*>(jack_port_get_buffer(r->in_[c], n_frames));
      float peak = r->peak_[c].load(std::memory_order_relaxed);
      for (jack_nframes_t i = 0; i < n_frames; ++i) peak = std::max(peak, std::fabs(in[i]));
      r->peak_[c].store(peak, std::memory_order_relaxed);
    }
    return 0;
  }
  jack_client_t* client_ = nullptr;
  jack_port_t* in_[2] = {nullptr, nullptr};
  std::atomic<float> peak_[2] = {0.0f, 0.0f};
};

// jamctl running in the background, its stdout and stderr going to a file.
class Background {
 public:
  explicit Background(const std::vector<std::string>& argv)
      : log_path_(::testing::TempDir() + "/jamctl_jack_" + std::to_string(getpid()) + ".log") {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Background() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool running() const { return pid_ > 0 && !exited_; }
  void signal(int sig) const { kill(pid_, sig); }
  // The exit status once it exits within timeout_ms; -1 if it did not or was killed.
  int wait(int timeout_ms) {
    int status = 0;
    const bool done =
        jt::wait_until([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, timeout_ms);
    if (!done) return -1;
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string output() const {
    std::ifstream in(log_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  std::string log_path_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

std::unique_ptr<jt::JackServer> start_jack_or_skip() {
  absl::StatusOr<std::unique_ptr<jt::JackServer>> server = jt::JackServer::start(kPeriodFrames);
  if (!server.ok() && absl::IsNotFound(server.status())) return nullptr;
  EXPECT_TRUE(server.ok()) << server.status().message();
  return server.ok() ? *std::move(server) : nullptr;
}

TEST(JamctlJack, PlaysTheJamOnItsPortsAndStopsCleanlyOnCtrlC) {
  std::unique_ptr<jt::JackServer> jack = start_jack_or_skip();
  if (jack == nullptr) GTEST_SKIP() << "jackd is not installed";
  MusicLoopback jamd;
  auto stub = jamd.stub();
  grpc::ClientContext ctx;
  jam::v1::CreateJamResponse jam;
  ASSERT_TRUE(stub->CreateJam(&ctx, fast_jam(), &jam).ok());
  const jam::v1::JoinJamResponse listener = join(*stub, jam.listener_token(), "lia");
  Recorder recorder(jack->name());
  ASSERT_TRUE(recorder.ok());

  Background jamctl({JAMCTL_PATH, "--server", jamd.address(), "--token",
                     listener.participant_token(), "listen", "--jack", "--connect", "--jack-server",
                     jack->name(), "--client-name", kClient});
  ASSERT_TRUE(jamctl.running());
  const std::string out_l = kClient + ":out_L";
  const std::string out_r = kClient + ":out_R";
  ASSERT_TRUE(jt::wait_until(
      [&] {
        jack_port_t* port = jack_port_by_name(recorder.client(), out_l.c_str());
        return port != nullptr && jack_port_connected_to(port, "system:playback_1") != 0;
      },
      kWaitMs))
      << "no " << out_l << " connected to system:playback_1; jamctl said:\n"
      << jamctl.output();
  // A player hears nothing and sends no MIDI: out_L and out_R are its only ports.
  const char** ports = jack_get_ports(recorder.client(), (kClient + ":").c_str(), nullptr, 0);
  std::vector<std::string> names;
  for (size_t i = 0; ports != nullptr && ports[i] != nullptr; ++i) names.emplace_back(ports[i]);
  jack_free(ports);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{out_l, out_r}));
  ASSERT_EQ(jack_connect(recorder.client(), out_l.c_str(), "recorder:in_L"), 0);
  ASSERT_EQ(jack_connect(recorder.client(), out_r.c_str(), "recorder:in_R"), 0);
  EXPECT_TRUE(
      jt::wait_until([&] { return recorder.peak(0) > 1e-3f && recorder.peak(1) > 1e-3f; }, kWaitMs))
      << "the jam on jamctl's ports is silent: peaks " << recorder.peak(0) << ", "
      << recorder.peak(1) << "; jamctl said:\n"
      << jamctl.output();

  jamctl.signal(SIGINT);
  const int exit_code = jamctl.wait(kWaitMs);
  const std::string said = jamctl.output();
  EXPECT_EQ(exit_code, 0) << said;
  EXPECT_NE(said.find("played "), std::string::npos) << said;
  EXPECT_NE(said.find(" underruns, "), std::string::npos) << said;
  EXPECT_NE(said.find("; stopped"), std::string::npos) << said;
  EXPECT_EQ(jack_port_by_name(recorder.client(), out_l.c_str()), nullptr)
      << "jamctl's ports outlived it";
  EXPECT_EQ(jamd.wait_for_listeners(0, 0).first, 0u) << "jamd still streams to jamctl";
}

TEST(JamctlJack, NoJackServerIsOneLineAndAFailure) {
  const std::string name = jt::unique_server_name("absent");
  const jt::CommandResult r = jt::run_command({JAMCTL_PATH, "--server", "127.0.0.1:1", "--token",
                                               "jt_x", "listen", "--jack", "--jack-server", name},
                                              kWaitMs / 1000);
  ASSERT_FALSE(r.timed_out) << r.output;
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output.find('\n'), r.output.size() - 1) << "not one line:\n" << r.output;
  EXPECT_NE(r.output.find("jamctl: no JACK server running (named '" + name + "')"),
            std::string::npos)
      << r.output;
}

TEST(JamctlJack, JackAndOutTogetherAreAUsageError) {
  const jt::CommandResult r = jt::run_command(
      {JAMCTL_PATH, "--token", "jt_x", "listen", "--jack", "--out", "/tmp/x.wav"}, kWaitMs / 1000);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--out FILE or --jack, not both"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace jamd::api::testing
