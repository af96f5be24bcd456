// SharedClock: the seats (one jam's AudioIo each) and the pacing threads that run them.
#include "daemon/host/shared_clock.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cassert>
#include <chrono>

namespace jamd {

using SteadyClock = std::chrono::steady_clock;

// One period's MIDI out, kept only to be counted: a virtual-clock jam has no MIDI port.
class CountingMidiOut final : public realtime::MidiOut {
 public:
  bool write(const realtime::MidiMessage&) override { return true; }  // thread: rt
};

class SharedClock::Seat final : public realtime::AudioIo {
 public:
  Seat(SharedClock& clock, uint32_t sample_rate_hz, uint32_t period_frames)
      : clock_(clock), sample_rate_hz_(sample_rate_hz) {
    for (int c = 0; c < 2; ++c) {
      in_[c].assign(period_frames, 0.0f);
      out_[c].assign(period_frames, 0.0f);
      block_.audio_in[c] = std::span<const float>(in_[c]);
      block_.audio_out[c] = std::span<float>(out_[c]);
    }
    block_.n_frames = period_frames;
    block_.midi_out = &midi_out_;
  }
  ~Seat() override { stop(); }

  absl::Status start(realtime::ProcessCallback* callback) override {
    if (callback == nullptr) return absl::InvalidArgumentError("SharedClock seat: no callback");
    if (callback_ != nullptr) return absl::FailedPreconditionError("SharedClock seat: started");
    callback_ = callback;
    clock_.attach(this);
    return absl::OkStatus();
  }
  void stop() override {
    if (callback_ == nullptr) return;
    clock_.detach(this);
    callback_ = nullptr;
  }
  uint32_t sample_rate_hz() const override { return sample_rate_hz_; }
  uint32_t max_period_frames() const override { return block_.n_frames; }
  const realtime::IoCounters& counters() const override { return counters_; }

  // One period; `late` when it starts more than a period after its deadline. thread: pacing
  void play_period(bool late) {
    if (late) counters_.xruns.fetch_add(1, std::memory_order_relaxed);
    callback_->process(block_);
    block_.first_frame += block_.n_frames;
    counters_.periods.fetch_add(1, std::memory_order_relaxed);
  }

 private:
  SharedClock& clock_;
  const uint32_t sample_rate_hz_;
  realtime::ProcessCallback* callback_ = nullptr;  // set before attach, cleared after detach
  std::vector<float> in_[2];
  std::vector<float> out_[2];
  CountingMidiOut midi_out_;
  realtime::ProcessBlock block_;  // first_frame: the seat's own sample clock
  realtime::IoCounters counters_;
};

SharedClock::SharedClock(const SharedClockOptions& options)
    : options_(options), n_threads_(std::clamp(options.threads, 1, kMaxThreads)) {
  bool all_rt = options_.rt_priority > 0;
  for (int t = 0; t < n_threads_; ++t) {
    threads_.emplace_back([this, t] { run(t); });
    if (options_.rt_priority > 0) {
      sched_param param{};
      param.sched_priority = options_.rt_priority;
      all_rt &= pthread_setschedparam(threads_.back().native_handle(), SCHED_FIFO, &param) == 0;
    }
  }
  got_rt_priority_.store(all_rt, std::memory_order_release);
}

SharedClock::~SharedClock() {
  running_.store(false, std::memory_order_release);
  for (std::thread& t : threads_) t.join();
  for (const Slot& s : slots_) assert(s.seat.load() == nullptr && "a seat outlived its clock");
}

std::unique_ptr<realtime::AudioIo> SharedClock::open_seat() {
  return std::make_unique<Seat>(*this, options_.sample_rate_hz, options_.period_frames);
}

void SharedClock::attach(Seat* seat) {
  absl::MutexLock lock(&mu_);
  // The free slot of the pacing thread with the fewest seats: the work stays even as jams come
  // and go.
  std::array<int, kMaxThreads> seats{};
  for (size_t i = 0; i < kMaxSeats; ++i) seats[static_cast<size_t>(thread_of(i))] += taken_[i];
  size_t best = kMaxSeats;
  for (size_t i = 0; i < kMaxSeats; ++i) {
    if (taken_[i]) continue;
    const auto t = static_cast<size_t>(thread_of(i));
    if (best == kMaxSeats || seats[t] < seats[static_cast<size_t>(thread_of(best))]) best = i;
  }
  assert(best < kMaxSeats && "SharedClock: more seats than kMaxSeats");
  if (best == kMaxSeats) return;
  taken_[best] = true;
  slots_[best].seat.store(seat, std::memory_order_release);
}

void SharedClock::detach(Seat* seat) {
  size_t index = kMaxSeats;
  {
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < kMaxSeats; ++i) {
      if (slots_[i].seat.load(std::memory_order_relaxed) != seat) continue;
      slots_[i].seat.store(nullptr, std::memory_order_release);
      index = i;
    }
  }
  if (index == kMaxSeats) return;
  // The thread may have loaded the seat just before it was cleared: once a whole pass began
  // after the store, it no longer holds it. The slot is reusable only then.
  wait_for_two_passes(thread_of(index));
  absl::MutexLock lock(&mu_);
  taken_[index] = false;
}

void SharedClock::wait_for_two_passes(int t) {
  std::atomic<uint64_t>& passes = passes_[static_cast<size_t>(t)];
  const uint64_t seen = passes.load(std::memory_order_acquire);
  while (running_.load(std::memory_order_acquire) &&
         passes.load(std::memory_order_acquire) < seen + 2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void SharedClock::run(int t) {
  pthread_setname_np(pthread_self(), "shared-clock");
  const auto period = std::chrono::nanoseconds(
      static_cast<int64_t>(1e9 * options_.period_frames / options_.sample_rate_hz));
  auto deadline = SteadyClock::now();
  while (running_.load(std::memory_order_acquire)) {
    for (size_t i = static_cast<size_t>(t); i < kMaxSeats; i += static_cast<size_t>(n_threads_)) {
      Seat* seat = slots_[i].seat.load(std::memory_order_acquire);
      if (seat == nullptr) continue;
      // Late: this seat's period starts more than a period after the grid's deadline.
      seat->play_period(SteadyClock::now() > deadline + period);
    }
    passes_[static_cast<size_t>(t)].fetch_add(1, std::memory_order_acq_rel);
    deadline += period;
    const auto now = SteadyClock::now();
    if (now > deadline + period) {
      deadline = now;  // behind by more than a period: the late seats counted it; catch up
    } else {
      std::this_thread::sleep_until(deadline);
    }
  }
}

}  // namespace jamd
