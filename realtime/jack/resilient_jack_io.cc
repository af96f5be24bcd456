// make_jack_io(): a JackIo that outlives its server. It holds one JackClient at a time; when the
// server goes away, a supervisor thread opens a new client of the same name as soon as a server
// answers, re-registers the ports, restores their connections and restarts the same callback
// with the sample clock continued, so a jam survives `jackd` being killed and started again.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "realtime/jack/jack_client.h"
#include "realtime/jack/jack_io.h"

namespace jamd::realtime {
namespace {

using Connection = std::pair<std::string, std::string>;  // {our short name, their full name}

// Runs the user's callback with first_frame moved onto the clock that spans every client.
class ContinuedClock final : public ProcessCallback {
 public:
  explicit ContinuedClock(ProcessCallback* target) : target_(target) {}

  void process(const ProcessBlock& block) override {  // thread: rt
    ProcessBlock shifted = block;
    shifted.first_frame += base_frames_.load(std::memory_order_relaxed);
    target_->process(shifted);
    end_frames_.store(shifted.first_frame + shifted.n_frames, std::memory_order_relaxed);
  }

  // Called only while no client runs this callback. thread: control
  void continue_from_last_frame() {
    base_frames_.store(end_frames_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  }
  uint64_t base_frames() const { return base_frames_.load(std::memory_order_relaxed); }

 private:
  ProcessCallback* const target_;
  std::atomic<uint64_t> base_frames_{0};
  std::atomic<uint64_t> end_frames_{0};
};

class ResilientJackIo final : public JackIo {
 public:
  explicit ResilientJackIo(const JackOptions& options) : options_(options) {}

  // Opens the first client; its errors are make_jack_io()'s. thread: control
  absl::Status open() {
    absl::StatusOr<std::unique_ptr<JackClient>> first =
        open_jack_client(options_, {.counters = &counters_});
    if (!first.ok()) return first.status();
    sample_rate_hz_ = (*first)->sample_rate_hz();
    max_period_frames_ = (*first)->max_period_frames();
    absl::MutexLock lock(&mu_);
    client_ = std::move(*first);
    return absl::OkStatus();
  }

  ~ResilientJackIo() override {
    stop();
    absl::MutexLock lock(&mu_);
    client_.reset();
  }

  absl::Status start(ProcessCallback* callback) override {
    if (clock_ != nullptr) return absl::FailedPreconditionError("JACK I/O already started");
    auto clock = std::make_unique<ContinuedClock>(callback);
    {
      absl::MutexLock lock(&mu_);
      if (client_ == nullptr) {
        return absl::UnavailableError(
            "the JACK server has gone away: start it again; jamd reconnects by itself");
      }
      if (absl::Status s = client_->start(clock.get()); !s.ok()) return s;
    }
    clock_ = std::move(clock);
    stopping_ = false;
    supervisor_ = std::thread([this] { supervise(); });
    return absl::OkStatus();
  }

  void stop() override {
    if (clock_ == nullptr) return;
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    supervisor_.join();
    absl::MutexLock lock(&mu_);
    if (client_ != nullptr) client_->stop();
    clock_.reset();
  }

  uint32_t sample_rate_hz() const override { return sample_rate_hz_; }
  uint32_t max_period_frames() const override { return max_period_frames_; }
  const IoCounters& counters() const override { return counters_; }
  bool connected() const override { return true; }
  uint32_t period_frames() const override {
    absl::MutexLock lock(&mu_);
    return client_ != nullptr ? client_->period_frames() : 0;
  }
  float dsp_load_percent() const override {
    absl::MutexLock lock(&mu_);
    return client_ != nullptr ? client_->dsp_load_percent() : 0.0f;
  }
  const std::string& client_name() const override { return options_.client_name; }

  size_t pop_midi_in(std::span<TimedMidiMessage> out) override {
    absl::MutexLock lock(&mu_);
    if (client_ == nullptr) return 0;
    const size_t n = client_->pop_midi_in(out);
    const uint64_t base = clock_ != nullptr ? clock_->base_frames() : 0;
    for (size_t i = 0; i < n; ++i) out[i].frame += base;
    return n;
  }

 private:
  void supervise();
  void lose_client() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void try_reconnect();
  void restore_connections();

  const JackOptions options_;
  uint32_t sample_rate_hz_ = 0;     // the first server's: a later one must match
  uint32_t max_period_frames_ = 0;  // the first server's period: what the callback preallocated
  IoCounters counters_;
  mutable absl::Mutex mu_;
  std::unique_ptr<JackClient> client_ ABSL_GUARDED_BY(mu_);  // null while the server is away
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::unique_ptr<ContinuedClock> clock_;  // thread: control; set while started
  std::thread supervisor_;
  // Supervisor thread only: the connections seen (latest, and the round before), and those
  // still to restore.
  std::vector<Connection> known_connections_;
  std::vector<Connection> latest_connections_;
  std::vector<Connection> to_restore_;
  std::chrono::steady_clock::time_point restore_until_;
};

void ResilientJackIo::supervise() {
  const absl::Duration interval = absl::Milliseconds(std::max(1, options_.reconnect_interval_ms));
  while (true) {
    bool healthy = false;
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval)) return;
      healthy = client_ != nullptr && client_->connected();
      if (healthy) {
        // A server stopping cleanly disconnects every port before it tells its clients it is
        // going: trust a snapshot only once the client was still healthy a round later.
        known_connections_ = std::move(latest_connections_);
        latest_connections_ = client_->connections();
      }
    }
    if (healthy) {
      restore_connections();
      continue;
    }
    {
      absl::MutexLock lock(&mu_);
      if (client_ != nullptr) lose_client();
    }
    try_reconnect();
  }
}

// The server is gone: its client can do nothing more. Keeps what it was connected to.
void ResilientJackIo::lose_client() {
  counters_.server_losses.fetch_add(1, std::memory_order_relaxed);
  client_->stop();
  client_.reset();
  clock_->continue_from_last_frame();
  to_restore_ = known_connections_;
}

void ResilientJackIo::try_reconnect() {
  // jack_client_open() without a server fails fast (JackNoStartServer); no lock held meanwhile.
  absl::StatusOr<std::unique_ptr<JackClient>> client =
      open_jack_client(options_, {.counters = &counters_, .max_period_frames = max_period_frames_});
  if (!client.ok()) return;
  // Another rate would change the length of every note already planned: wait for the right one.
  if ((*client)->sample_rate_hz() != sample_rate_hz_) return;
  if (!(*client)->start(clock_.get()).ok()) return;
  {
    absl::MutexLock lock(&mu_);
    client_ = std::move(*client);
  }
  counters_.reconnects.fetch_add(1, std::memory_order_relaxed);
  restore_until_ = std::chrono::steady_clock::now() +
                   std::chrono::seconds(std::max(0, options_.restore_connections_s));
  restore_connections();
}

// Reconnects what was connected before the loss; a port that is not there yet (its client is
// still starting) is tried again on the next rounds, until restore_connections_s has passed.
void ResilientJackIo::restore_connections() {
  if (to_restore_.empty()) return;
  if (std::chrono::steady_clock::now() > restore_until_) {
    to_restore_.clear();
    return;
  }
  absl::MutexLock lock(&mu_);
  if (client_ == nullptr) return;
  std::erase_if(to_restore_,
                [&](const Connection& c) { return client_->connect(c.first, c.second).ok(); });
}

}  // namespace

absl::StatusOr<std::unique_ptr<JackIo>> make_jack_io(const JackOptions& options) {
  if (!options.reconnect) {
    absl::StatusOr<std::unique_ptr<JackClient>> client = open_jack_client(options, {});
    if (!client.ok()) return client.status();
    return std::unique_ptr<JackIo>(std::move(*client));
  }
  auto io = std::make_unique<ResilientJackIo>(options);
  if (absl::Status s = io->open(); !s.ok()) return s;
  return std::unique_ptr<JackIo>(std::move(io));
}

}  // namespace jamd::realtime
