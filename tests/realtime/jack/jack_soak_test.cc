// The RT soak: the real band (scheduler + FluidSynth + Band) plays dense five-part material
// through JackIo on a real `jackd -d dummy -r 48000 -p 64` for 60 s; no xrun may happen. The
// callback's time per period (median, p99, max) goes to the test log for docs/PERFORMANCE.md.
// JAMD_SOAK_SECONDS=600 runs the 10-minute version of the target by hand.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "realtime/core/scheduler.h"
#include "realtime/jack/jack_io.h"
#include "realtime/synth/band.h"
#include "realtime/synth/synth.h"
#include "tests/realtime/jack/jack_server.h"

namespace jamd::realtime {
namespace {

constexpr uint32_t kPeriodFrames = 64;
constexpr int kDefaultSoakSeconds = 60;
constexpr int kWarmUpSeconds = 2;
constexpr int kTicksPerQuarter = 480;
constexpr int kTicksPerSixteenth = kTicksPerQuarter / 4;
constexpr int kTicksPerBar = 4 * kTicksPerQuarter;
constexpr double kTempoBpm = 132.0;
// How far ahead of the playhead the feeder keeps the scheduler: one beat, like the conductor's
// commit horizon.
constexpr int64_t kFeedAheadTicks = kTicksPerQuarter;

int soak_seconds() {
  const char* env = std::getenv("JAMD_SOAK_SECONDS");
  const int seconds = env != nullptr ? std::atoi(env) : 0;
  return seconds > 0 ? seconds : kDefaultSoakSeconds;
}

// Wraps the band and times each period on the RT thread into a preallocated array (no
// allocation, no lock); also keeps the loudest sample so the test knows the synth really played.
class TimedBand : public ProcessCallback {
 public:
  TimedBand(ProcessCallback& inner, size_t max_periods)
      : inner_(inner), durations_ns_(max_periods, 0) {}

  void process(const ProcessBlock& block) override {  // thread: rt
    const auto begin = std::chrono::steady_clock::now();
    inner_.process(block);
    const auto end = std::chrono::steady_clock::now();
    const size_t i = n_.load(std::memory_order_relaxed);
    if (i < durations_ns_.size()) {
      durations_ns_[i] = static_cast<uint32_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(end - begin).count());
      n_.store(i + 1, std::memory_order_release);
    }
    float peak = peak_;
    for (float s : block.audio_out[0]) peak = std::max(peak, std::fabs(s));
    peak_ = peak;
  }

  // Call after stop(): the RT thread no longer writes.
  std::vector<uint32_t> durations_ns() const {
    return {durations_ns_.begin(), durations_ns_.begin() + n_.load(std::memory_order_acquire)};
  }
  float peak() const { return peak_; }

 private:
  ProcessCallback& inner_;
  std::vector<uint32_t> durations_ns_;
  std::atomic<size_t> n_{0};
  float peak_ = 0.0f;
};

// Dense material, one bar at a time: drums in 16ths on channel 10, bass in 8ths, four-note keys
// chords on every beat, a lead line in 16ths, a held three-note pad: 63 notes a bar.
class DenseBandFeeder {
 public:
  explicit DenseBandFeeder(Scheduler& scheduler) : scheduler_(scheduler) {
    const int programs[] = {33, 0, 81, 89};  // bass, piano, lead, pad (GM, from 0)
    for (int channel = 0; channel < 4; ++channel) {
      scheduler_.program_change(0, channel, programs[channel]);
    }
  }

  // Schedules whole bars until the playhead plus the feed-ahead horizon is covered.
  // Returns the notes scheduled so far. thread: producer
  size_t feed() {
    while (next_bar_tick_ < scheduler_.playhead_tick() + kFeedAheadTicks + kTicksPerBar) {
      // A bar is at most 126 posts; wait for room rather than be refused.
      if (scheduler_.free_command_slots() < 256) break;
      schedule_bar(next_bar_tick_);
      next_bar_tick_ += kTicksPerBar;
    }
    return n_notes_;
  }

 private:
  void note(int64_t tick, int64_t length_ticks, int channel, int key, int velocity) {
    scheduler_.note_on(tick, channel, key, velocity);
    scheduler_.note_off(tick + length_ticks, channel, key);
    ++n_notes_;
  }

  void schedule_bar(int64_t bar) {
    const int roots[] = {45, 41, 48, 43};  // A F C G: the four bars cycle
    const int root = roots[(bar / kTicksPerBar) % 4];
    for (int step = 0; step < 16; ++step) {
      const int64_t t = bar + step * kTicksPerSixteenth;
      note(t, kTicksPerSixteenth / 2, kGmDrumChannel, 42, 70 + (step % 4 == 0 ? 30 : 0));
      if (step % 8 == 0) note(t, kTicksPerSixteenth, kGmDrumChannel, 36, 110);
      if (step % 8 == 4) note(t, kTicksPerSixteenth, kGmDrumChannel, 38, 100);
      if (step % 2 == 0) note(t, kTicksPerSixteenth * 2 - 10, 0, root - 12 + (step % 4), 96);
      if (step % 4 == 0) {
        for (int interval : {12, 16, 19, 24})
          note(t, kTicksPerQuarter - 20, 1, root + interval, 80);
      }
      note(t, kTicksPerSixteenth - 10, 2, root + 24 + (step * 5) % 12, 90);
    }
    for (int interval : {12, 19, 28}) note(bar, kTicksPerBar - 30, 3, root + interval, 60);
  }

  Scheduler& scheduler_;
  int64_t next_bar_tick_ = 0;
  size_t n_notes_ = 0;
};

uint32_t percentile(const std::vector<uint32_t>& sorted, double p) {
  const size_t i = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1));
  return sorted[i];
}

// A silent callback: JAMD_SOAK_EMPTY=1 runs the soak with it, as a control for the machine.
class Silence : public ProcessCallback {
 public:
  void process(const ProcessBlock& block) override {
    for (auto& out : block.audio_out) std::fill(out.begin(), out.end(), 0.0f);
  }
};

void print_callback_times(std::vector<uint32_t> ns, int seconds) {
  std::sort(ns.begin(), ns.end());
  const double period_us = 1e6 * kPeriodFrames / testing::kTestSampleRateHz;
  const double median_us = percentile(ns, 0.5) / 1e3;
  const double p99_us = percentile(ns, 0.99) / 1e3;
  const double max_us = ns.back() / 1e3;
  std::printf(
      "jack soak: %d s at %u frames / %u Hz (period %.1f us), %zu periods timed\n"
      "callback us: median %.1f (%.1f%% of period)  p99 %.1f (%.1f%%)  max %.1f (%.1f%%)\n",
      seconds, kPeriodFrames, testing::kTestSampleRateHz, period_us, ns.size(), median_us,
      100 * median_us / period_us, p99_us, 100 * p99_us / period_us, max_us,
      100 * max_us / period_us);
  ::testing::Test::RecordProperty("callback_median_us", static_cast<int>(median_us));
  ::testing::Test::RecordProperty("callback_p99_us", static_cast<int>(p99_us));
  ::testing::Test::RecordProperty("callback_max_us", static_cast<int>(max_us));
}

// The real band: scheduler, FluidSynth with the default SoundFont, and the Band callback.
struct RealBand {
  RealBand() : scheduler(options()) {
    SynthOptions synth_options;
    synth_options.sample_rate_hz = testing::kTestSampleRateHz;
    auto created = Synth::create(synth_options);
    EXPECT_TRUE(created.ok()) << created.status().message();
    if (created.ok()) synth = std::move(*created);
    if (synth != nullptr) band = std::make_unique<Band>(scheduler, *synth);
  }
  static SchedulerOptions options() {
    SchedulerOptions o;
    o.sample_rate_hz = testing::kTestSampleRateHz;
    o.ticks_per_quarter = kTicksPerQuarter;
    o.tempo_bpm = kTempoBpm;
    return o;
  }
  Scheduler scheduler;
  std::unique_ptr<Synth> synth;
  std::unique_ptr<Band> band;
};

// What one soak window measured.
struct SoakWindow {
  uint64_t xruns = 0;
  testing::XrunReports reports;
  std::vector<uint32_t> callback_ns;
  float dsp_load_max_percent = 0.0f;  // JACK's smoothed view of the whole graph
};

// Plays for a warm-up (server start-up, the synth's first notes), then measures `seconds`.
SoakWindow soak(JackIo& io, TimedBand& timed, DenseBandFeeder& feeder,
                const testing::JackServer& server, int seconds) {
  SoakWindow w;
  auto play_for = [&](int s) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(s);
    while (std::chrono::steady_clock::now() < end && io.connected()) {
      feeder.feed();
      w.dsp_load_max_percent = std::max(w.dsp_load_max_percent, io.dsp_load_percent());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  play_for(kWarmUpSeconds);
  const uint64_t xruns_before = io.counters().xruns.load();
  const testing::XrunReports reports_before = testing::xrun_reports(server, "jamd");
  const size_t periods_before = timed.durations_ns().size();
  w.dsp_load_max_percent = 0.0f;
  play_for(seconds);
  io.stop();
  w.xruns = io.counters().xruns.load() - xruns_before;
  w.reports = testing::xrun_reports(server, "jamd") - reports_before;
  const std::vector<uint32_t> all = timed.durations_ns();
  w.callback_ns.assign(all.begin() + static_cast<ptrdiff_t>(periods_before), all.end());
  return w;
}

TEST(JackSoakTest, DenseBandPlaysAMinuteAt64FramesWithoutXruns) {
  auto server = testing::JackServer::start(kPeriodFrames);
  ASSERT_TRUE(server.ok()) << server.status().message();
  RealBand real;
  ASSERT_NE(real.band, nullptr);
  Silence silence;
  const bool control_run = std::getenv("JAMD_SOAK_EMPTY") != nullptr;
  // No page faults on the RT thread, e.g. on SoundFont samples touched for the first time, as a
  // JACK client should at start-up. (jamd itself does not lock its memory: its RT threads took
  // no major faults at 32 jams, and MCL_FUTURE would fault in every thread's whole stack.)
  if (std::getenv("JAMD_SOAK_NO_MLOCK") == nullptr) mlockall(MCL_CURRENT | MCL_FUTURE);
  const int seconds = soak_seconds();
  TimedBand timed(control_run ? static_cast<ProcessCallback&>(silence) : *real.band,
                  static_cast<size_t>(seconds + kWarmUpSeconds + 5) * testing::kTestSampleRateHz /
                      kPeriodFrames);
  JackOptions options;
  options.server_name = (*server)->name();
  auto io = make_jack_io(options);
  ASSERT_TRUE(io.ok()) << io.status().message();
  DenseBandFeeder feeder(real.scheduler);
  ASSERT_TRUE((*io)->start(&timed).ok());
  const SoakWindow w = soak(**io, timed, feeder, **server, seconds);

  ASSERT_FALSE(w.callback_ns.empty());
  print_callback_times(w.callback_ns, seconds);
  const SchedulerCounters& played = real.scheduler.counters();
  std::printf(
      "%s%llu notes played, JACK DSP load max %.1f%%, xruns %llu (server reports: jamd "
      "late %d of which %d not started, dummy driver late %d)\n",
      control_run ? "CONTROL RUN (silent callback): " : "",
      static_cast<unsigned long long>(played.events_played.load() / 2), w.dsp_load_max_percent,
      static_cast<unsigned long long>(w.xruns), w.reports.client_late, w.reports.client_not_started,
      w.reports.driver_late);
  ::testing::Test::RecordProperty("xruns", static_cast<int>(w.xruns));

  EXPECT_TRUE((*io)->connected()) << "the JACK server went away during the soak";
  EXPECT_EQ(played.commands_rejected.load(), 0u);
  EXPECT_EQ(real.band->counters().midi_out_dropped.load(), 0u);
  // The band really played: 63 notes (126 events) a bar, a bar every 1.8 s at 132 BPM, about
  // 69 events a second, went through the synth and came out loud.
  if (!control_run) {
    EXPECT_GT(played.events_played.load(), 50u * static_cast<unsigned>(seconds));
    EXPECT_GT(timed.peak(), 0.01f);
  }
  EXPECT_EQ((*io)->counters().periods.load(), timed.durations_ns().size());
  // Every xrun jamd counted is one the server reported ...
  const auto reported = static_cast<uint64_t>(w.reports.total());
  EXPECT_LE(w.xruns, reported) << "jamd counted xruns the server never reported";

  if (w.reports.machine_caused() > 0 && std::getenv("JAMD_SOAK_STRICT") == nullptr) {
    // ... but while the machine breaks periods in bursts, the server's log and the xrun
    // notifications it sends its clients part by more than one (a fresh-root run in session 9:
    // 365 logged, 362 notified, with 349 periods broken by the machine), so that count cannot
    // judge jamd either (JackIoTest.XrunsAreCounted still checks that a forced xrun is counted).
    GTEST_SKIP() << "the machine itself broke " << w.reports.machine_caused()
                 << " periods (dummy driver's clock late " << w.reports.driver_late
                 << ", jamd's RT thread not scheduled in its period "
                 << w.reports.client_not_started << "; load average " << testing::load_average()
                 << "), so this run cannot judge jamd; "
                 << "rerun on a quiet machine, or set JAMD_SOAK_STRICT=1 to fail instead";
  }
  // ... and the other way round, give or take one the server logs while the client is being
  // closed, after jamd's counter was read.
  EXPECT_LE(reported, w.xruns + 1) << "the server reported xruns jamd did not count";
  EXPECT_EQ(w.xruns, 0u) << "jamd's callback missed JACK's deadline " << w.reports.client_late
                         << " times";
}

}  // namespace
}  // namespace jamd::realtime
