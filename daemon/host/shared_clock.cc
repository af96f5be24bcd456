// SharedClock: the seats (one jam's AudioIo each) and the pacing threads that run them.
#include "daemon/host/shared_clock.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cassert>
#include <chrono>

#include "daemon/host/thread_priority.h"

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

namespace {
int64_t since_epoch_ns(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
int64_t now_ns() { return since_epoch_ns(SteadyClock::now()); }
SteadyClock::time_point at_ns(int64_t ns) {
  return SteadyClock::time_point(std::chrono::nanoseconds(ns));
}

// Keeps the largest value stored; any thread.
void store_max(std::atomic<int64_t>& max, int64_t value) {
  int64_t seen = max.load(std::memory_order_relaxed);
  while (value > seen && !max.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}
}  // namespace

SharedClock::SharedClock(const SharedClockOptions& options)
    : options_(options),
      n_pacing_(std::clamp(options.threads, 1, kMaxThreads)),
      n_threads_(std::min(kMaxThreads, n_pacing_ + std::max(0, options.standby_threads))),
      period_ns_(period().count()),
      standby_after_ns_(static_cast<int64_t>(std::clamp(options.standby_after, 0.0, 1.0) *
                                             static_cast<double>(period_ns_))),
      origin_ns_(now_ns()) {
  bool all_rt = options_.rt_priority > 0;
  const std::vector<int> cpus = options_.pin_threads ? allowed_cpus() : std::vector<int>{};
  for (int t = 0; t < n_threads_; ++t) {
    threads_.emplace_back([this, t] { run(t); });
    handles_.push_back(threads_.back().native_handle());
    if (options_.rt_priority > 0) {
      sched_param param{};
      param.sched_priority = options_.rt_priority;
      all_rt &= pthread_setschedparam(threads_.back().native_handle(), SCHED_FIFO, &param) == 0;
    }
    // Best effort, as the priority: a thread that cannot be pinned runs where the kernel puts it.
    if (cpus.size() >= 2) {
      cpu_set_t one;
      CPU_ZERO(&one);
      // From the last CPU down: the first ones tend to take the most interrupts.
      CPU_SET(cpus[cpus.size() - 1 - static_cast<size_t>(t) % cpus.size()], &one);
      pthread_setaffinity_np(threads_.back().native_handle(), sizeof(one), &one);
    }
  }
  got_rt_priority_.store(all_rt, std::memory_order_release);
}

std::vector<int> SharedClock::pinned_cpus() const {
  std::vector<int> out;
  for (const pthread_t handle : handles_) {
    cpu_set_t set;
    CPU_ZERO(&set);
    int only = -1;
    if (pthread_getaffinity_np(handle, sizeof(set), &set) == 0 && CPU_COUNT(&set) == 1) {
      for (int c = 0; c < CPU_SETSIZE; ++c) {
        if (CPU_ISSET(c, &set)) only = c;
      }
    }
    out.push_back(only);
  }
  return out;
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
  // The first free slot: the passes play the slots in order, so the seats stay near the front.
  const auto free = std::find(taken_.begin(), taken_.end(), false);
  assert(free != taken_.end() && "SharedClock: more seats than kMaxSeats");
  if (free == taken_.end()) return;
  *free = true;
  slots_[static_cast<size_t>(free - taken_.begin())].seat.store(seat);
}

void SharedClock::detach(Seat* seat) {
  size_t index = kMaxSeats;
  {
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < kMaxSeats; ++i) {
      if (slots_[i].seat.load(std::memory_order_relaxed) != seat) continue;
      slots_[i].seat.store(nullptr);  // seq_cst, as a holder's load after taking the slot
      index = i;
    }
  }
  if (index == kMaxSeats) return;
  // A thread that took the slot before the seat was cleared may be playing it; one that takes it
  // after finds no seat. Once the slot is let go, no thread holds the seat.
  while (slots_[index].hold.load() & kHeld)
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  absl::MutexLock lock(&mu_);
  taken_[index] = false;
}

SharedClockStats SharedClock::stats() const {
  SharedClockStats s;
  for (int t = 0; t < n_threads_; ++t) {
    const Timing& timing = timing_[static_cast<size_t>(t)];
    s.passes += timing.passes.load(std::memory_order_relaxed);
    s.late_wakes += timing.late_wakes.load(std::memory_order_relaxed);
    s.long_passes += timing.long_passes.load(std::memory_order_relaxed);
    s.relieved_passes += timing.relieved_passes.load(std::memory_order_relaxed);
    s.standby_seats += timing.standby_seats.load(std::memory_order_relaxed);
    s.owed_periods += timing.owed_periods.load(std::memory_order_relaxed);
    s.dropped_periods += timing.dropped_periods.load(std::memory_order_relaxed);
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
  s.relieved_passes -= before.relieved_passes;
  s.standby_seats -= before.standby_seats;
  s.owed_periods -= before.owed_periods;
  s.dropped_periods -= before.dropped_periods;
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

// The recording thread is the only writer of its Timing: a plain load and store keep the maximum.
namespace {
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

void SharedClock::record_pass(int t, uint64_t pass) {
  const PassRecord& r = record_of(pass);
  const uint32_t played = r.played.load(std::memory_order_relaxed);
  const SharedClockLatePass late{at_ns(r.deadline_ns.load(std::memory_order_relaxed)),
                                 at_ns(r.began_ns.load(std::memory_order_relaxed)),
                                 at_ns(r.last_late_ns.load(std::memory_order_relaxed)),
                                 r.cpu.load(std::memory_order_relaxed),
                                 r.late_seats.load(std::memory_order_relaxed)};
  const int64_t wake_late_ns = r.wake_late_ns.load(std::memory_order_relaxed);
  const int64_t pass_ns = r.ended_ns.load(std::memory_order_relaxed) - since_epoch_ns(late.began);
  const uint32_t standby_seats = r.standby_seats.load(std::memory_order_relaxed);
  // Only a thread held up for kPassRing passes finds its pass's record reused: it drops it.
  if (r.pass.load(std::memory_order_acquire) != pass || played == 0) return;

  Timing& timing = timing_[static_cast<size_t>(t)];
  timing.passes.fetch_add(1, std::memory_order_relaxed);
  if (wake_late_ns > period_ns_) timing.late_wakes.fetch_add(1, std::memory_order_relaxed);
  if (pass_ns > period_ns_) timing.long_passes.fetch_add(1, std::memory_order_relaxed);
  if (standby_seats > 0) {
    timing.relieved_passes.fetch_add(1, std::memory_order_relaxed);
    timing.standby_seats.fetch_add(standby_seats, std::memory_order_relaxed);
  }
  keep_max(timing.max_wake_late_ns, wake_late_ns);
  keep_max(timing.max_pass_ns, pass_ns);
  const auto bucket =
      static_cast<size_t>(static_cast<double>(pass_ns) * 1e-6 / SharedClockStats::kBucketMs);
  timing.pass_histogram[std::min(bucket, SharedClockStats::kBuckets - 1)].fetch_add(
      1, std::memory_order_relaxed);
  if (late.late_seats > 0) log_late_pass(late_log_[static_cast<size_t>(t)], late);
}

int64_t SharedClock::due_ns(uint64_t pass) const {
  if (pass == 0) return origin_ns_;
  const PassRecord& before = record_of(pass - 1);
  const int64_t due = before.deadline_ns.load(std::memory_order_relaxed) + period_ns_;
  // Behind by more than a period: the late seats counted it; the grid starts again from there.
  const int64_t ended = before.ended_ns.load(std::memory_order_relaxed);
  return ended > due + period_ns_ ? ended : due;
}

void SharedClock::open_pass(uint64_t pass, int64_t deadline_ns, bool slept) {
  uint64_t unclaimed = pass;
  if (!opening_.compare_exchange_strong(unclaimed, pass + 1, std::memory_order_acq_rel)) return;
  PassRecord& r = record_of(pass);
  const int64_t began = now_ns();
  r.pass.store(pass, std::memory_order_relaxed);
  r.tally.store(pass << kTallyBits, std::memory_order_relaxed);
  r.deadline_ns.store(deadline_ns, std::memory_order_relaxed);
  r.began_ns.store(began, std::memory_order_relaxed);
  r.ended_ns.store(began, std::memory_order_relaxed);
  r.last_late_ns.store(0, std::memory_order_relaxed);
  r.wake_late_ns.store(slept ? began - deadline_ns : 0, std::memory_order_relaxed);
  r.cpu.store(sched_getcpu(), std::memory_order_relaxed);  // the vDSO's: no system call
  r.played.store(0, std::memory_order_relaxed);
  r.late_seats.store(0, std::memory_order_relaxed);
  r.standby_seats.store(0, std::memory_order_relaxed);
  opened_.store(pass + 1);  // seq_cst: publishes the record (and orders with detach)
}

void SharedClock::play_open_pass(uint64_t pass, bool standby, int t) {
  const uint64_t end = (pass + 1) * kMaxSeats;
  uint64_t ticket = next_ticket_.load(std::memory_order_relaxed);
  while (ticket < end) {
    if (!next_ticket_.compare_exchange_weak(ticket, ticket + 1, std::memory_order_acq_rel,
                                            std::memory_order_relaxed)) {
      continue;  // another thread took it; `ticket` is now the next one
    }
    Slot& slot = slots_[ticket % kMaxSeats];
    // An empty slot is passed over without touching its hold (most of the 128 are empty).
    if (slot.seat.load(std::memory_order_relaxed) != nullptr && take_or_owe(slot, t)) {
      play_held_seat(slot, pass, standby, t);
    } else {
      count_done(pass, t);
    }
    ticket = next_ticket_.load(std::memory_order_relaxed);
  }
}

bool SharedClock::take_or_owe(Slot& slot, int t) {
  uint32_t hold = slot.hold.load(std::memory_order_relaxed);
  while (true) {
    const bool held = (hold & kHeld) != 0;
    if (held && hold >= kMaxOwed * kOwedOne) {
      timing_[static_cast<size_t>(t)].dropped_periods.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    if (slot.hold.compare_exchange_weak(hold, held ? hold + kOwedOne : kHeld,
                                        std::memory_order_acq_rel, std::memory_order_relaxed)) {
      return !held;
    }
  }
}

bool SharedClock::take_owed(Slot& slot) {
  uint32_t hold = slot.hold.load(std::memory_order_relaxed);
  while (true) {
    const bool owed = hold >= kOwedOne;
    // Release when letting go: the next holder sees what this period's callback wrote.
    if (slot.hold.compare_exchange_weak(hold, owed ? hold - kOwedOne : 0, std::memory_order_acq_rel,
                                        std::memory_order_relaxed)) {
      return owed;
    }
  }
}

void SharedClock::play_held_seat(Slot& slot, uint64_t pass, bool standby, int t) {
  PassRecord& r = record_of(pass);
  const int64_t deadline_ns = r.deadline_ns.load(std::memory_order_relaxed);
  // Under the hold: a seat cleared before it was taken is not played (detach waits for the hold).
  if (Seat* seat = slot.seat.load(); seat != nullptr) {
    // Late: this seat's period starts more than a period after the grid's deadline.
    const int64_t start = now_ns();
    const bool late = start > deadline_ns + period_ns_;
    if (late) {
      r.late_seats.fetch_add(1, std::memory_order_relaxed);
      store_max(r.last_late_ns, start);
    }
    seat->play_period(late);
    r.played.fetch_add(1, std::memory_order_relaxed);
    if (standby) r.standby_seats.fetch_add(1, std::memory_order_relaxed);
    store_max(r.ended_ns, now_ns());
  }
  count_done(pass, t);
  // The periods of the passes that reached the seat meanwhile, in order. Their deadlines are
  // their records' while the ring still holds them, the grid's otherwise.
  for (uint64_t owed = pass + 1; take_owed(slot); ++owed) {
    Seat* seat = slot.seat.load();
    if (seat == nullptr) continue;  // stopped meanwhile: what was owed is dropped
    const PassRecord& owed_record = record_of(owed);
    const int64_t due = owed_record.pass.load(std::memory_order_relaxed) == owed
                            ? owed_record.deadline_ns.load(std::memory_order_relaxed)
                            : deadline_ns + static_cast<int64_t>(owed - pass) * period_ns_;
    const int64_t start = now_ns();
    const bool late = start > due + period_ns_;
    seat->play_period(late);
    timing_[static_cast<size_t>(t)].owed_periods.fetch_add(1, std::memory_order_relaxed);
    if (late) {
      log_late_pass(late_log_[static_cast<size_t>(t)],
                    {at_ns(due), at_ns(start), at_ns(start), sched_getcpu(), 1});
    }
  }
}

void SharedClock::count_done(uint64_t pass, int t) {
  PassRecord& r = record_of(pass);
  uint64_t tally = r.tally.load(std::memory_order_relaxed);
  // Acq_rel: the thread that completes the tally sees every player's updates to the record.
  while ((tally >> kTallyBits) == pass) {
    if (r.tally.compare_exchange_weak(tally, tally + 1, std::memory_order_acq_rel,
                                      std::memory_order_relaxed)) {
      if ((tally & ((uint64_t{1} << kTallyBits) - 1)) + 1 == kMaxSeats) record_pass(t, pass);
      return;
    }
  }
}

void SharedClock::run(int t) {
  const bool standby = t >= n_pacing_;
  pthread_setname_np(pthread_self(), standby ? "clock-standby" : "shared-clock");
  const int64_t wakes_after_ns = standby ? standby_after_ns_ : 0;
  // While another thread publishes the pass it opened.
  const auto short_wait = std::chrono::nanoseconds(std::min<int64_t>(period_ns_ / 8, 250'000));
  bool slept = false;  // this thread slept until the next pass's time (its wake may be late)
  while (running_.load(std::memory_order_acquire)) {
    const uint64_t next = opened_.load();  // the pass to open next; the one before is open
    if (next > 0 && next_ticket_.load(std::memory_order_relaxed) < next * kMaxSeats) {
      play_open_pass(next - 1, standby, t);
      slept = false;
      continue;
    }
    if (opening_.load(std::memory_order_acquire) > next) {
      std::this_thread::sleep_for(short_wait);
      slept = false;
      continue;
    }
    const int64_t due = due_ns(next);
    if (const int64_t wake_at = due + wakes_after_ns; now_ns() < wake_at) {
      std::this_thread::sleep_until(at_ns(wake_at));
      slept = true;
      continue;
    }
    open_pass(next, due, slept);
    slept = false;
  }
}

}  // namespace jamd
