// rt_bench: the RT callback's cost per period (median, p99, max) with 1, 8 and 32 parts of dense
// material at 64 and 256 frames, and the offline render speed of the demo song. Prints a
// Markdown table for docs/PERFORMANCE.md.
//
//   chrt -f 70 ./build/bench/rt_bench [--seconds 10]   (SCHED_FIFO, as JACK runs its RT thread)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "realtime/core/scheduler.h"
#include "realtime/core/song.h"
#include "realtime/midi/midi_file.h"
#include "realtime/synth/band.h"
#include "realtime/synth/song_render.h"
#include "realtime/synth/synth.h"

namespace {

using jamd::realtime::Band;
using jamd::realtime::MidiMessage;
using jamd::realtime::ProcessBlock;
using jamd::realtime::Scheduler;
using jamd::realtime::Synth;

constexpr uint32_t kRateHz = 48000;
constexpr int kTpq = 480;            // at 120 BPM: 50 frames a tick
constexpr int kSixteenthTicks = kTpq / 4;
constexpr double kWarmupSeconds = 1.0;

struct Costs {
  double median_us = 0, p99_us = 0, max_us = 0;
  int max_voices = 0;
  uint64_t late = 0;
};

// Dense material: every part plays a new note every sixteenth at 120 BPM (8 a second), each a
// beat long, so about four voices per part overlap; parts spread over 16 channels and
// programs, channel 10 playing drums. Posted one beat ahead of the playhead.
void post_sixteenth(Scheduler& sched, int n_parts, int sixteenth) {
  const int64_t tick = static_cast<int64_t>(sixteenth) * kSixteenthTicks;
  for (int part = 0; part < n_parts; ++part) {
    const int channel = part % 16;
    const bool drums = channel == jamd::realtime::kGmDrumChannel;
    const int key = drums ? 35 + (sixteenth + part) % 12 : 36 + (sixteenth * 5 + part * 7) % 48;
    sched.note_on(tick, channel, key, 70 + (sixteenth * 13 + part) % 50);
    sched.note_off(tick + kTpq, channel, key);
  }
}

Costs measure(int n_parts, uint32_t period_frames, double seconds, bool effects) {
  jamd::realtime::SynthOptions synth_options;
  synth_options.sample_rate_hz = kRateHz;
  synth_options.reverb.enabled = effects;
  synth_options.chorus.enabled = effects;
  absl::StatusOr<std::unique_ptr<Synth>> synth = Synth::create(synth_options);
  if (!synth.ok()) {
    std::fprintf(stderr, "rt_bench: %s\n", std::string(synth.status().message()).c_str());
    std::exit(1);
  }
  Scheduler sched({.sample_rate_hz = kRateHz, .ticks_per_quarter = kTpq});
  for (int ch = 0; ch < 16; ++ch) sched.program_change(0, ch, (ch * 11) % 96);
  Band band(sched, **synth);
  std::vector<float> left(period_frames), right(period_frames);
  ProcessBlock block;
  block.n_frames = period_frames;
  block.audio_out[0] = left;
  block.audio_out[1] = right;

  const auto total_frames = static_cast<uint64_t>((seconds + kWarmupSeconds) * kRateHz);
  const auto warmup_frames = static_cast<uint64_t>(kWarmupSeconds * kRateHz);
  std::vector<double> costs_us;
  costs_us.reserve(total_frames / period_frames + 1);
  Costs c;
  int next_sixteenth = 0;
  for (uint64_t first = 0; first < total_frames; first += period_frames) {
    // The producer's work (not timed): keep a beat of material ahead of the playhead.
    while (static_cast<uint64_t>(next_sixteenth) * kSixteenthTicks * 50 < first + kRateHz / 2) {
      post_sixteenth(sched, n_parts, next_sixteenth++);
    }
    block.first_frame = first;
    const auto t0 = std::chrono::steady_clock::now();
    band.process(block);
    const auto t1 = std::chrono::steady_clock::now();
    if (first >= warmup_frames) {
      costs_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
    // Idle as long as the period took, like an RT thread between periods. Without it a
    // SCHED_FIFO run at 100 % CPU hits the kernel's RT throttling (sched_rt_runtime_us: 50 ms
    // of every second) and the maximum measures the throttle, not the callback.
    std::this_thread::sleep_for(t1 - t0);
    c.max_voices = std::max(c.max_voices, (*synth)->active_voices());
  }
  std::sort(costs_us.begin(), costs_us.end());
  c.median_us = costs_us[costs_us.size() / 2];
  c.p99_us = costs_us[std::min(costs_us.size() - 1, costs_us.size() * 99 / 100)];
  c.max_us = costs_us.back();
  c.late = sched.counters().events_late.load();
  return c;
}

void offline_speed() {
  const std::string path = std::string(JAMD_SOURCE_DIR) + "/daemon/data/demo.mid";
  absl::StatusOr<jamd::realtime::MidiFile> file = jamd::realtime::read_midi_file(path);
  if (!file.ok()) {
    std::fprintf(stderr, "rt_bench: %s\n", std::string(file.status().message()).c_str());
    return;
  }
  absl::StatusOr<jamd::realtime::Song> song = jamd::realtime::song_from_midi(*file);
  if (!song.ok()) return;
  std::printf("\n| offline render | audio s | wall s | x real time |\n|---|---|---|---|\n");
  for (bool effects : {true, false}) {
    jamd::realtime::SongRenderOptions options;
    options.wav_path = "/tmp/rt_bench_demo.wav";
    options.synth.reverb.enabled = effects;
    options.synth.chorus.enabled = effects;
    absl::StatusOr<jamd::realtime::SongRenderResult> r =
        jamd::realtime::render_song_to_wav(*song, options);
    if (!r.ok()) return;
    std::printf("| demo.mid, 256 frames, reverb+chorus %s | %.1f | %.3f | %.0f |\n",
                effects ? "on" : "off", static_cast<double>(r->stats.frames) / kRateHz,
                r->stats.wall_seconds, r->stats.speed_x_real_time);
  }
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 10.0;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atof(argv[i + 1]);
  }
  std::printf("| period | parts | reverb+chorus | voices (max) | median us | p99 us | max us |"
              " p99 %% of period | late |\n|---|---|---|---|---|---|---|---|---|\n");
  struct Config {
    uint32_t period;
    int parts;
    bool effects;
  };
  const Config configs[] = {{64, 1, true},  {64, 8, true},  {64, 32, true},  {64, 32, false},
                            {256, 1, true}, {256, 8, true}, {256, 32, true}, {256, 32, false}};
  for (const Config& k : configs) {
    const Costs c = measure(k.parts, k.period, seconds, k.effects);
    const double period_us = 1e6 * k.period / kRateHz;
    std::printf("| %u | %d | %s | %d | %.1f | %.1f | %.1f | %.1f | %llu |\n", k.period, k.parts,
                k.effects ? "on" : "off", c.max_voices, c.median_us, c.p99_us, c.max_us,
                100.0 * c.p99_us / period_us, static_cast<unsigned long long>(c.late));
    std::fflush(stdout);
  }
  offline_speed();
  return 0;
}
