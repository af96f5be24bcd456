// JamHost::start and LiveJamHost: one live jam's chain (I/O, synth, scheduler, band, rings, the
// listener and tap threads) wired to the conductor, and its orderly stop.
#include "daemon/host/jam_host.h"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "daemon/host/host_callback.h"
#include "daemon/host/host_listener.h"
#include "daemon/host/instant_controls.h"
#include "daemon/host/tap_fanout.h"
#include "realtime/io/virtual_io.h"
#include "realtime/jack/jack_io.h"
#include "realtime/synth/band.h"
#include "realtime/synth/synth.h"

namespace jamd {
namespace {

// The scheduler holds a few bars of a dense band (the conductor posts a beat ahead).
constexpr size_t kSchedulerEvents = 65536;
// Ring sizes, in seconds of audio: how long the listener or tap thread may stall before frames
// are lost (counted). Both threads wake every kWorkerWakeMs.
constexpr double kCaptureRingSeconds = 4.0;
constexpr double kMixRingSeconds = 2.0;
constexpr size_t kMidiInRingMessages = 4096;
constexpr size_t kTapEventRingEvents = 32768;  // notes + one clock mark per period
constexpr size_t kControlRingSnapshots = 64;
constexpr int kWorkerWakeMs = 5;

class LiveJamHost final : public JamHost {
 public:
  LiveJamHost(JamId id, const JamState& initial, Conductor& conductor)
      : id_(id), initial_(initial), conductor_(conductor) {}
  ~LiveJamHost() override { stop(); }

  absl::Status build(const JamHostOptions& options);

  void post_state(const JamState& state) override {
    {
      absl::MutexLock lock(&control_mu_);  // the controls ring has one producer at a time
      if (!controls_->try_push(instant_controls_of(state))) ++controls_refused_;
    }
    conductor_.post_state(id_, state);
  }
  std::shared_ptr<TapQueue<MixBlock>> subscribe_mix(size_t capacity,
                                                    std::function<void()> on_ready) override {
    return fanout_->subscribe_mix(capacity, std::move(on_ready));
  }
  std::shared_ptr<TapQueue<TappedNote>> subscribe_notes(size_t capacity,
                                                        std::function<void()> on_ready) override {
    return fanout_->subscribe_notes(capacity, std::move(on_ready));
  }
  std::shared_ptr<TapQueue<MixBlock>> subscribe_input(size_t capacity,
                                                      std::function<void()> on_ready) override {
    return fanout_->subscribe_input(capacity, std::move(on_ready));
  }
  void stop() override;
  uint32_t sample_rate_hz() const override { return sample_rate_hz_; }
  int beats_per_bar() const override { return initial_.beats_per_bar; }
  JamHostStats stats() const override;

 private:
  void run_tap();
  void run_listener();

  const JamId id_;
  const JamState initial_;
  Conductor& conductor_;
  uint32_t sample_rate_hz_ = 48000;
  std::unique_ptr<realtime::AudioIo> io_;
  realtime::JackIo* jack_ = nullptr;  // io_, when it is JACK
  std::unique_ptr<realtime::Synth> synth_;
  std::unique_ptr<realtime::Scheduler> scheduler_;
  std::unique_ptr<realtime::Band> band_;
  std::unique_ptr<realtime::AudioRing> capture_;
  std::unique_ptr<realtime::SpscRing<realtime::TimedMidiMessage>> midi_in_;
  std::unique_ptr<realtime::AudioRing> mix_;
  std::unique_ptr<realtime::SpscRing<TapEvent>> events_;
  std::unique_ptr<realtime::SpscRing<InstantControls>> controls_;
  std::unique_ptr<HostCallback> callback_;
  std::unique_ptr<TapFanout> fanout_;
  std::unique_ptr<HostListener> listener_;
  std::atomic<bool> workers_running_{false};
  std::thread tap_thread_;
  std::thread listener_thread_;
  SharedWorker* shared_worker_ = nullptr;  // instead of the two threads, when given
  SharedWorker::Id worker_id_ = 0;
  bool jam_added_ = false;

  absl::Mutex control_mu_;
  uint64_t controls_refused_ ABSL_GUARDED_BY(control_mu_) = 0;
  absl::Mutex stop_mu_;
  bool stopped_ ABSL_GUARDED_BY(stop_mu_) = false;
};

absl::StatusOr<std::unique_ptr<realtime::AudioIo>> open_io(const JamHostOptions& options,
                                                           realtime::JackIo** jack) {
  if (options.clock == JamHostOptions::Clock::kJack) {
    absl::StatusOr<std::unique_ptr<realtime::JackIo>> io =
        realtime::make_jack_io({.client_name = options.jack_client_name,
                                .server_name = options.jack_server_name,
                                .auto_connect = options.jack_autoconnect});
    if (!io.ok()) return absl::FailedPreconditionError(io.status().message());
    *jack = io->get();
    return std::unique_ptr<realtime::AudioIo>(std::move(*io));
  }
  if (options.shared_clock != nullptr) return options.shared_clock->open_seat();
  return std::unique_ptr<realtime::AudioIo>(
      realtime::make_virtual_io({.sample_rate_hz = options.sample_rate_hz,
                                 .period_frames = options.period_frames,
                                 .real_time = true}));
}

absl::Status LiveJamHost::build(const JamHostOptions& options) {
  absl::StatusOr<std::unique_ptr<realtime::AudioIo>> io = open_io(options, &jack_);
  if (!io.ok()) return io.status();
  io_ = std::move(*io);
  sample_rate_hz_ = io_->sample_rate_hz();
  const uint32_t rate = sample_rate_hz_;
  realtime::SynthOptions synth_options;
  synth_options.soundfont = options.soundfont;
  synth_options.sample_rate_hz = rate;
  synth_options.reverb.enabled = options.synth_effects;
  synth_options.chorus.enabled = options.synth_effects;
  absl::StatusOr<std::unique_ptr<realtime::Synth>> synth = realtime::Synth::create(synth_options);
  if (!synth.ok()) return synth.status();
  synth_ = std::move(*synth);
  scheduler_ = std::make_unique<realtime::Scheduler>(
      realtime::SchedulerOptions{.sample_rate_hz = rate,
                                 .ticks_per_quarter = kConductorTicksPerQuarter,
                                 .tempo_bpm = initial_.tempo_bpm,
                                 .time_signature = {initial_.beats_per_bar, 4},
                                 .max_events = kSchedulerEvents,
                                 .drop_note_ons_late_ms = kDropNoteOnsLateMs});
  band_ = std::make_unique<realtime::Band>(*scheduler_, *synth_);
  capture_ =
      std::make_unique<realtime::AudioRing>(static_cast<size_t>(kCaptureRingSeconds * rate), 2);
  midi_in_ = std::make_unique<realtime::SpscRing<realtime::TimedMidiMessage>>(kMidiInRingMessages);
  mix_ = std::make_unique<realtime::AudioRing>(static_cast<size_t>(kMixRingSeconds * rate), 2);
  events_ = std::make_unique<realtime::SpscRing<TapEvent>>(kTapEventRingEvents);
  controls_ = std::make_unique<realtime::SpscRing<InstantControls>>(kControlRingSnapshots);
  const bool audio_input = jack_ != nullptr;
  const auto lead_in_frames =
      static_cast<uint64_t>(std::llround(std::max(0.0, options.lead_in_ms) / 1000.0 * rate));
  callback_ = std::make_unique<HostCallback>(
      *band_, *synth_, *scheduler_, HostRings{*capture_, *midi_in_, *mix_, *events_, *controls_},
      lead_in_frames, audio_input, instant_controls_of(initial_), options.monitor);
  fanout_ = std::make_unique<TapFanout>(*mix_, *events_,
                                        TapFanoutOptions{.sample_rate_hz = rate,
                                                         .beats_per_bar = initial_.beats_per_bar,
                                                         .tempo_bpm = initial_.tempo_bpm});
  listener_ =
      std::make_unique<HostListener>(*capture_, *midi_in_, conductor_, id_, *fanout_,
                                     HostListenerOptions{.sample_rate_hz = rate,
                                                         .audio_input = audio_input,
                                                         .beats_per_bar = initial_.beats_per_bar,
                                                         .tempo_bpm = initial_.tempo_bpm,
                                                         .jack = jack_});

  conductor_.add_jam(id_, initial_, *scheduler_,
                     {.sample_rate_hz = rate,
                      .tempo_bpm = initial_.tempo_bpm,
                      .beats_per_bar = initial_.beats_per_bar});
  jam_added_ = true;
  workers_running_.store(true, std::memory_order_release);
  if (options.shared_worker != nullptr) {
    shared_worker_ = options.shared_worker;
    // Without inputs (the virtual clock) there is nothing to hear: the listener would only
    // analyse silence (~3 ms of CPU per jam-second, jam_load_bench).
    const bool hears = audio_input || jack_ != nullptr;
    worker_id_ = shared_worker_->add([this, hears] {
      fanout_->drain();
      if (hears) listener_->drain(scheduler_->playhead_frame());
    });
  } else {
    tap_thread_ = std::thread([this] { run_tap(); });
    listener_thread_ = std::thread([this] { run_listener(); });
  }
  return io_->start(callback_.get());
}

void LiveJamHost::run_tap() {
  pthread_setname_np(pthread_self(), "jam-tap");  // names for top, perf and jam_load_bench
  while (workers_running_.load(std::memory_order_acquire)) {
    fanout_->drain();
    std::this_thread::sleep_for(std::chrono::milliseconds(kWorkerWakeMs));
  }
}

void LiveJamHost::run_listener() {
  pthread_setname_np(pthread_self(), "jam-listen");
  while (workers_running_.load(std::memory_order_acquire)) {
    listener_->drain(scheduler_->playhead_frame());
    std::this_thread::sleep_for(std::chrono::milliseconds(kWorkerWakeMs));
  }
}

void LiveJamHost::stop() {
  absl::MutexLock lock(&stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  if (io_ != nullptr) io_->stop();  // the RT thread is done when this returns
  workers_running_.store(false, std::memory_order_release);
  if (worker_id_ != 0) shared_worker_->remove(worker_id_);
  if (tap_thread_.joinable()) tap_thread_.join();
  if (listener_thread_.joinable()) listener_thread_.join();
  if (fanout_ != nullptr) fanout_->finish();
  // The conductor may post to the scheduler until it has dropped the jam.
  if (jam_added_) conductor_.remove_jam_and_wait(id_);
}

JamHostStats LiveJamHost::stats() const {
  JamHostStats s;
  if (scheduler_ == nullptr) return s;
  s.frames_played = scheduler_->playhead_frame();
  s.xruns = io_->counters().xruns.load(std::memory_order_relaxed);
  s.jack_server_losses = io_->counters().server_losses.load(std::memory_order_relaxed);
  s.jack_reconnects = io_->counters().reconnects.load(std::memory_order_relaxed);
  s.events_played = scheduler_->counters().events_played.load(std::memory_order_relaxed);
  s.late_events = scheduler_->counters().events_late.load(std::memory_order_relaxed);
  s.late_frames_max = scheduler_->counters().late_frames_max.load(std::memory_order_relaxed);
  s.late_note_ons_dropped =
      scheduler_->counters().late_note_ons_dropped.load(std::memory_order_relaxed);
  s.unplanned_frames = scheduler_->counters().unplanned_frames.load(std::memory_order_relaxed);
  s.mix_frames_lost = callback_->counters().mix_frames_lost.load(std::memory_order_relaxed);
  s.capture_frames_lost = callback_->counters().capture_frames_lost.load(std::memory_order_relaxed);
  s.tempo_bpm = scheduler_->tempo_bpm() > 0 ? scheduler_->tempo_bpm() : initial_.tempo_bpm;
  s.instant_controls_applied =
      callback_->counters().controls_applied.load(std::memory_order_acquire);
  s.instant_controls_frame =
      callback_->counters().controls_applied_frame.load(std::memory_order_relaxed);
  const int64_t bar_ticks = int64_t{initial_.beats_per_bar} * kConductorTicksPerQuarter;
  s.bar = scheduler_->playhead_tick() / bar_ticks;
  const ListenerPicture picture = listener_->picture();
  s.heard_chord = picture.chord;
  s.musician_playing = picture.musician_playing;
  return s;
}

}  // namespace

absl::StatusOr<std::unique_ptr<JamHost>> JamHost::start(JamId id, const JamState& initial,
                                                        Conductor& conductor,
                                                        const JamHostOptions& options) {
  auto host = std::make_unique<LiveJamHost>(id, initial, conductor);
  if (absl::Status s = host->build(options); !s.ok()) {
    host->stop();
    return s;
  }
  return std::unique_ptr<JamHost>(std::move(host));
}

}  // namespace jamd
