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

SharedClockStats SharedClock::stats() const {
  SharedClockStats s;
  for (int t = 0; t < n_threads_; ++t) {
    const Timing& timing = timing_[static_cast<size_t>(t)];
    s.passes += timing.passes.load(std::memory_order_relaxed);
    s.late_wakes += timing.late_wakes.load(std::memory_order_relaxed);
    s.long_passes += timing.long_passes.load(std::memory_order_relaxed);
    s.max_wake_late_ms = std::max(
        s.max_wake_late_ms,
        1e-6 * static_cast<double>(timing.max_wake_late_ns.load(std::memory_order_relaxed)));
    s.max_pass_ms =
        std::max(s.max_pass_ms,
                 1e-6 * static_cast<double>(timing.max_pass_ns.load(std::memory_order_relaxed)));
    for (size_t b = 0; b < SharedClockStats::kBuckets; ++b)
      s.pass_histogram[b] += timing.pass_histogram[b].load(std::memory_order_relaxed);
  }
  return s;
}

double SharedClockStats::pass_percentile_ms(double p) const {
  uint64_t total = 0;
  for (uint64_t n : pass_histogram) total += n;
  if (total == 0) return 0;
  const double want = p * static_cast<double>(total);
  uint64_t seen = 0;
  for (size_t b = 0; b < kBuckets; ++b) {
    seen += pass_histogram[b];
    if (static_cast<double>(seen) >= want) return static_cast<double>(b + 1) * kBucketMs;
  }
  return static_cast<double>(kBuckets) * kBucketMs;
}

SharedClockStats SharedClockStats::since(const SharedClockStats& before) const {
  SharedClockStats s = *this;
  s.passes -= before.passes;
  s.late_wakes -= before.late_wakes;
  s.long_passes -= before.long_passes;
  for (size_t b = 0; b < kBuckets; ++b) s.pass_histogram[b] -= before.pass_histogram[b];
  return s;
}

std::vector<SharedClockLatePass> SharedClock::late_passes() const {
  std::vector<SharedClockLatePass> passes;
  for (int t = 0; t < n_threads_; ++t) {
    const LatePassLog& log = late_log_[static_cast<size_t>(t)];
    const uint64_t end = log.written.load(std::memory_order_acquire);
    const uint64_t begin = end > kLatePassLog ? end - kLatePassLog : 0;
    std::vector<SharedClockLatePass> read;
    for (uint64_t i = begin; i < end; ++i) {
      const LatePassRecord& r = log.records[i % kLatePassLog];
      const auto at = [](const std::atomic<int64_t>& ns) {
        return SteadyClock::time_point(
            std::chrono::nanoseconds(ns.load(std::memory_order_relaxed)));
      };
      read.push_back({at(r.deadline_ns), at(r.began_ns), at(r.last_late_ns),
                      r.cpu.load(std::memory_order_relaxed),
                      r.late_seats.load(std::memory_order_relaxed)});
    }
    // Records the thread began to overwrite while they were read are dropped.
    const uint64_t now_written = log.written.load(std::memory_order_acquire);
    const uint64_t valid_from = now_written >= kLatePassLog ? now_written - kLatePassLog + 1 : 0;
    for (uint64_t i = begin; i < end; ++i)
      if (i >= valid_from) passes.push_back(read[i - begin]);
  }
  std::sort(passes.begin(), passes.end(),
            [](const auto& a, const auto& b) { return a.deadline < b.deadline; });
  return passes;
}

namespace {
int64_t since_epoch_ns(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// The pacing thread is the only writer: a plain load and store keep the maximum.
void keep_max(std::atomic<int64_t>& max, int64_t value) {
  if (value > max.load(std::memory_order_relaxed)) max.store(value, std::memory_order_relaxed);
}
}  // namespace

void SharedClock::log_late_pass(LatePassLog& log, const SharedClockLatePass& pass) {
  const uint64_t n = log.written.load(std::memory_order_relaxed);
  LatePassRecord& r = log.records[n % kLatePassLog];
  r.deadline_ns.store(since_epoch_ns(pass.deadline), std::memory_order_relaxed);
  r.began_ns.store(since_epoch_ns(pass.began), std::memory_order_relaxed);
  r.last_late_ns.store(since_epoch_ns(pass.last_late_seat), std::memory_order_relaxed);
  r.cpu.store(pass.cpu, std::memory_order_relaxed);
  r.late_seats.store(pass.late_seats, std::memory_order_relaxed);
  log.written.store(n + 1, std::memory_order_release);
}

void SharedClock::record_pass(Timing& timing, SteadyClock::duration wake_late,
                              SteadyClock::duration pass, SteadyClock::duration period) {
  const int64_t wake_late_ns = std::chrono::nanoseconds(wake_late).count();
  const int64_t pass_ns = std::chrono::nanoseconds(pass).count();
  timing.passes.fetch_add(1, std::memory_order_relaxed);
  if (wake_late > period) timing.late_wakes.fetch_add(1, std::memory_order_relaxed);
  if (pass > period) timing.long_passes.fetch_add(1, std::memory_order_relaxed);
  keep_max(timing.max_wake_late_ns, wake_late_ns);
  keep_max(timing.max_pass_ns, pass_ns);
  const auto bucket =
      static_cast<size_t>(static_cast<double>(pass_ns) * 1e-6 / SharedClockStats::kBucketMs);
  timing.pass_histogram[std::min(bucket, SharedClockStats::kBuckets - 1)].fetch_add(
      1, std::memory_order_relaxed);
}

void SharedClock::run(int t) {
  pthread_setname_np(pthread_self(), "shared-clock");
  const auto period = this->period();
  Timing& timing = timing_[static_cast<size_t>(t)];
  LatePassLog& late_log = late_log_[static_cast<size_t>(t)];
  auto deadline = SteadyClock::now();
  bool slept = false;  // the pass before ended early and slept until this pass's deadline
  while (running_.load(std::memory_order_acquire)) {
    const auto woke = SteadyClock::now();
    const int cpu = sched_getcpu();  // the vDSO's: no system call
    bool played = false;
    uint32_t late_seats = 0;
    SteadyClock::time_point last_late;
    for (size_t i = static_cast<size_t>(t); i < kMaxSeats; i += static_cast<size_t>(n_threads_)) {
      Seat* seat = slots_[i].seat.load(std::memory_order_acquire);
      if (seat == nullptr) continue;
      // Late: this seat's period starts more than a period after the grid's deadline.
      const auto start = SteadyClock::now();
      const bool late = start > deadline + period;
      if (late) {
        ++late_seats;
        last_late = start;
      }
      seat->play_period(late);
      played = true;
    }
    passes_[static_cast<size_t>(t)].fetch_add(1, std::memory_order_acq_rel);
    if (late_seats > 0) log_late_pass(late_log, {deadline, woke, last_late, cpu, late_seats});
    if (played) {
      const auto wake_late = woke - deadline;  // counted only after a sleep: see Timing
      record_pass(timing, slept ? wake_late : SteadyClock::duration::zero(),
                  SteadyClock::now() - woke, period);
    }
    deadline += period;
    const auto now = SteadyClock::now();
    if (now > deadline + period) {
      deadline = now;  // behind by more than a period: the late seats counted it; catch up
      slept = false;
    } else {
      slept = now < deadline;
      std::this_thread::sleep_until(deadline);
    }
  }
}

}  // namespace jamd
