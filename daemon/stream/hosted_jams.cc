// HostedJams: the control thread that starts and stops jams' hosts and streamers, and the
// listeners' subscriptions to their fan-outs.
#include "daemon/stream/hosted_jams.h"

#include <pthread.h>

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"

namespace jamd {

HostedJams::HostedJams(JamHostFactory start_host, HostedJamsOptions options)
    : start_host_(std::move(start_host)), options_(options) {
  control_ = std::thread([this] { run(); });
}

HostedJams::~HostedJams() { shutdown(); }

void HostedJams::on_jam_state(const std::string& jam_id, uint64_t /*sequence*/,
                              const JamState& state) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  auto it = jams_.find(jam_id);
  if (it == jams_.end()) {
    auto jam = std::make_shared<Jam>();
    jam->jam_id = jam_id;
    jam->id = next_id_++;
    jams_[jam_id] = jam;
    tasks_.push_back(Task{Task::Kind::kStart, std::move(jam), state});
  } else {
    tasks_.push_back(Task{Task::Kind::kState, it->second, state});
  }
  ++n_posted_;
}

void HostedJams::on_jam_ended(const std::string& jam_id) {
  absl::MutexLock lock(&mu_);
  auto it = jams_.find(jam_id);
  if (it == jams_.end()) return;
  tasks_.push_back(Task{Task::Kind::kEnd, std::move(it->second), JamState{}});
  jams_.erase(it);
  ++n_posted_;
}

template <typename T>
absl::StatusOr<std::shared_ptr<TapQueue<T>>> HostedJams::subscribe(
    const std::string& jam_id, std::shared_ptr<FanOut<T>> Jam::*fan_out, size_t capacity,
    std::function<void()> on_ready) {
  std::shared_ptr<FanOut<T>> target;
  {
    absl::MutexLock lock(&mu_);
    auto it = jams_.find(jam_id);
    if (it == jams_.end()) {
      return absl::NotFoundError(absl::StrCat("jam ", jam_id, " is not playing (it has ended)"));
    }
    if (!it->second->error.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("jam ", jam_id, " could not start: ", it->second->error));
    }
    target = (*it->second).*fan_out;
  }
  if (target->n_subscribers() >= options_.max_listeners_per_jam) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "jam ", jam_id, " has ", options_.max_listeners_per_jam, " listeners already"));
  }
  return target->subscribe(capacity, std::move(on_ready));
}

absl::StatusOr<std::shared_ptr<TapQueue<SharedOpusPacket>>> HostedJams::subscribe_audio(
    const std::string& jam_id, size_t capacity_packets, std::function<void()> on_ready) {
  return subscribe(jam_id, &Jam::audio, capacity_packets, std::move(on_ready));
}

absl::StatusOr<std::shared_ptr<TapQueue<TappedNote>>> HostedJams::subscribe_notes(
    const std::string& jam_id, size_t capacity_notes, std::function<void()> on_ready) {
  return subscribe(jam_id, &Jam::notes, capacity_notes, std::move(on_ready));
}

void HostedJams::run() {
  pthread_setname_np(pthread_self(), "jam-control");
  std::vector<Task> tasks;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !tasks_.empty() || stopping_; };
      mu_.Await(absl::Condition(&ready));
      if (tasks_.empty() && stopping_) return;
      tasks.swap(tasks_);
    }
    for (size_t i = 0; i < tasks.size(); ++i) {
      Task& t = tasks[i];
      // A burst of steers: only the newest state of a jam in this batch matters.
      const bool superseded = t.kind == Task::Kind::kState && i + 1 < tasks.size() &&
                              tasks[i + 1].kind == Task::Kind::kState && tasks[i + 1].jam == t.jam;
      if (superseded) continue;
      switch (t.kind) {
        case Task::Kind::kStart:
          start_jam(*t.jam, t.state);
          break;
        case Task::Kind::kState:
          if (t.jam->host != nullptr) t.jam->host->post_state(t.state);
          break;
        case Task::Kind::kEnd:
          stop_jam(*t.jam);
          break;
      }
    }
    absl::MutexLock lock(&mu_);
    n_done_ += tasks.size();
    tasks.clear();
  }
}

void HostedJams::start_jam(Jam& jam, const JamState& state) {
  absl::StatusOr<std::unique_ptr<JamHost>> host = start_host_(jam.id, state);
  absl::StatusOr<std::unique_ptr<JamStreamer>> streamer = absl::UnknownError("no host");
  if (host.ok()) {
    streamer = JamStreamer::start((*host)->subscribe_mix(options_.mix_queue_blocks, {}),
                                  (*host)->subscribe_notes(options_.notes_queue_notes, {}),
                                  static_cast<int32_t>((*host)->sample_rate_hz()), jam.audio,
                                  jam.notes, options_.opus, options_.shared_worker);
    if (!streamer.ok()) (*host)->stop();
  }
  const absl::Status st = host.ok() ? streamer.status() : host.status();
  if (!st.ok()) {
    std::fprintf(stderr, "jamd: jam %s cannot play: %s\n", jam.jam_id.c_str(),
                 std::string(st.message()).c_str());
    {
      absl::MutexLock lock(&mu_);
      jam.error = std::string(st.message());
    }
    jam.audio->close();
    jam.notes->close();
    return;
  }
  std::unique_ptr<JamRecorder> recorder;
  std::string recording_error;
  if (!options_.record_directory.empty()) {
    // A jam that cannot be recorded still plays: the listeners matter more than the take.
    absl::StatusOr<std::unique_ptr<JamRecorder>> started = JamRecorder::start(
        **host, state, {.directory = absl::StrCat(options_.record_directory, "/", jam.jam_id)});
    if (started.ok()) {
      recorder = *std::move(started);
    } else {
      recording_error = std::string(started.status().message());
      std::fprintf(stderr, "jamd: jam %s plays but is not recorded: %s\n", jam.jam_id.c_str(),
                   recording_error.c_str());
    }
  }
  absl::MutexLock lock(&mu_);
  jam.host = *std::move(host);
  jam.streamer = *std::move(streamer);
  jam.recorder = std::move(recorder);
  jam.recording_error = std::move(recording_error);
}

void HostedJams::stop_jam(Jam& jam) {
  std::unique_ptr<JamHost> host;
  std::unique_ptr<JamStreamer> streamer;
  std::unique_ptr<JamRecorder> recorder;
  {
    absl::MutexLock lock(&mu_);
    host = std::move(jam.host);
    streamer = std::move(jam.streamer);
    recorder = std::move(jam.recorder);
  }
  if (streamer != nullptr) streamer->stop();
  if (host != nullptr) host->stop();
  if (recorder != nullptr) recorder->stop();  // after the host: it has every last frame
  // Listeners' streams end only after the last packet went out.
  jam.audio->close();
  jam.notes->close();
}

void HostedJams::wait_idle() {
  absl::MutexLock lock(&mu_);
  const uint64_t target = n_posted_;
  auto done = [this, target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return n_done_ >= target || (stopping_ && tasks_.empty());
  };
  mu_.Await(absl::Condition(&done));
}

std::vector<HostedJamStats> HostedJams::stats() const {
  std::vector<HostedJamStats> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, jam] : jams_) {
    HostedJamStats s;
    s.jam_id = id;
    s.running = jam->host != nullptr;
    s.error = jam->error;
    if (jam->host != nullptr) s.host = jam->host->stats();
    if (jam->streamer != nullptr) s.streamer = jam->streamer->stats();
    s.recording_error = jam->recording_error;
    if (jam->recorder != nullptr) {
      s.recording = absl::StrCat(options_.record_directory, "/", id);
      if (absl::Status st = jam->recorder->status(); !st.ok())
        s.recording_error = std::string(st.message());
    }
    s.n_audio_listeners = jam->audio->n_subscribers();
    s.n_note_listeners = jam->notes->n_subscribers();
    out.push_back(std::move(s));
  }
  return out;
}

MediaHealth HostedJams::health() const {
  MediaHealth h;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, jam] : jams_) {
    if (jam->host == nullptr) continue;
    const JamHostStats s = jam->host->stats();
    ++h.playing_jams;
    h.audio_seconds += static_cast<double>(s.frames_played) / jam->host->sample_rate_hz();
    h.xruns += s.xruns;
    h.late_events += s.late_events;
    h.late_notes_dropped += s.late_note_ons_dropped;
    h.unplanned_seconds += static_cast<double>(s.unplanned_frames) / jam->host->sample_rate_hz();
    h.mix_frames_lost += s.mix_frames_lost;
    if (jam->streamer != nullptr) h.packets += jam->streamer->stats().packets;
  }
  return h;
}

void HostedJams::shutdown() {
  std::vector<std::shared_ptr<Jam>> running;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ && !control_.joinable()) return;
    stopping_ = true;
    for (auto& [id, jam] : jams_) running.push_back(jam);
    jams_.clear();
  }
  if (control_.joinable()) control_.join();  // finishes the queued tasks first
  for (const auto& jam : running) stop_jam(*jam);
}

}  // namespace jamd
