// rt_bench: the RT callback's cost per period (median, p99, max) with 1, 8 and 32 parts of dense
// material at 64 and 256 frames, and the offline render speed of the demo song. Prints a
// Markdown table for docs/PERFORMANCE.md.
//
//   chrt -f 70 ./build/bench/rt_bench [--seconds 10]   (SCHED_FIFO, as JACK runs its RT thread)
//   valgrind --tool=callgrind ./build/bench/rt_bench --seconds 2 --period 64 --parts 32
//     --variant defaults --no-offline
//     (instruction counts of one configuration: repeatable where wall times are not)
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
constexpr int kTpq = 480;  // at 120 BPM: 50 frames a tick
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

using jamd::realtime::Interpolation;

// What a row varies besides the load: jamd's defaults, the defaults before 2026-11-22
// (FluidSynth's 4th-order interpolation and 256 voices: the reference), or the effects off.
struct Variant {
  enum class Kind { kDefaults, kBefore, kEffectsOff };
  Kind kind = Kind::kDefaults;
  const char* name() const {
    switch (kind) {
      case Kind::kDefaults:
        return "defaults";
      case Kind::kBefore:
        return "before (4th order, 256 voices)";
      case Kind::kEffectsOff:
        return "defaults, effects off";
    }
    return "?";
  }
  const char* flag() const {
    return kind == Kind::kDefaults ? "defaults" : kind == Kind::kBefore ? "before" : "effects-off";
  }
};

int g_polyphony = 0;                  // --polyphony: 0 keeps the variant's
std::string g_soundfont = "default";  // --soundfont

jamd::realtime::SynthOptions synth_options_for(const Variant& v) {
  jamd::realtime::SynthOptions options;
  options.sample_rate_hz = kRateHz;
  options.soundfont = g_soundfont;
  if (v.kind == Variant::Kind::kBefore) {
    options.interpolation = Interpolation::kFourthOrder;
    options.polyphony = 256;
  }
  if (v.kind == Variant::Kind::kEffectsOff) {
    options.reverb.enabled = false;
    options.chorus.enabled = false;
  }
  if (g_polyphony > 0) options.polyphony = g_polyphony;
  return options;
}

Costs measure(int n_parts, uint32_t period_frames, double seconds, const Variant& variant) {
  const jamd::realtime::SynthOptions synth_options = synth_options_for(variant);
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
  const Variant variants[] = {
      {Variant::Kind::kDefaults}, {Variant::Kind::kBefore}, {Variant::Kind::kEffectsOff}};
  for (const Variant& v : variants) {
    jamd::realtime::SongRenderOptions options;
    options.wav_path = "/tmp/rt_bench_demo.wav";
    options.synth = synth_options_for(v);
    absl::StatusOr<jamd::realtime::SongRenderResult> r =
        jamd::realtime::render_song_to_wav(*song, options);
    if (!r.ok()) return;
    std::printf("| demo.mid, 256 frames, %s | %.1f | %.3f | %.0f |\n", v.name(),
                static_cast<double>(r->stats.frames) / kRateHz, r->stats.wall_seconds,
                r->stats.speed_x_real_time);
  }
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 10.0;
  uint32_t only_period = 0;  // 0: all
  int only_parts = 0;        // 0: all
  bool offline = true;
  std::string only_variant;  // empty: all; else "defaults", "before" or "effects-off"
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--seconds") == 0 && has_value) {
      seconds = std::atof(argv[++i]);
    } else if (std::strcmp(argv[i], "--period") == 0 && has_value) {
      only_period = static_cast<uint32_t>(std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--parts") == 0 && has_value) {
      only_parts = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--variant") == 0 && has_value) {
      only_variant = argv[++i];
    } else if (std::strcmp(argv[i], "--soundfont") == 0 && has_value) {
      g_soundfont = argv[++i];
    } else if (std::strcmp(argv[i], "--polyphony") == 0 && has_value) {
      g_polyphony = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--no-offline") == 0) {
      offline = false;
    } else {
      std::fprintf(stderr,
                   "usage: rt_bench [--seconds S] [--period FRAMES] [--parts N] [--polyphony N]"
                   " [--variant defaults|before|effects-off] [--soundfont PATH] [--no-offline]\n");
      return 2;
    }
  }
  std::printf(
      "| period | parts | synth | voices (max) | median us | p99 us | max us |"
      " p99 %% of period | late |\n|---|---|---|---|---|---|---|---|---|\n");
  struct Config {
    uint32_t period;
    int parts;
    Variant variant;
  };
  // The defaults at every size, and beside the 32-part rows the same load with the settings of
  // before (the reference) and with the effects off (what the reverb and chorus cost).
  const Variant before{Variant::Kind::kBefore};
  const Variant no_effects{Variant::Kind::kEffectsOff};
  const Config configs[] = {
      {64, 1, {}},  {64, 8, {}},  {64, 32, {}},  {64, 32, before},  {64, 32, no_effects},
      {256, 1, {}}, {256, 8, {}}, {256, 32, {}}, {256, 32, before}, {256, 32, no_effects}};
  for (const Config& k : configs) {
    if ((only_period != 0 && k.period != only_period) ||
        (only_parts != 0 && k.parts != only_parts) ||
        (!only_variant.empty() && only_variant != k.variant.flag())) {
      continue;
    }
    const Costs c = measure(k.parts, k.period, seconds, k.variant);
    const double period_us = 1e6 * k.period / kRateHz;
    std::printf("| %u | %d | %s | %d | %.1f | %.1f | %.1f | %.1f | %llu |\n", k.period, k.parts,
                k.variant.name(), c.max_voices, c.median_us, c.p99_us, c.max_us,
                100.0 * c.p99_us / period_us, static_cast<unsigned long long>(c.late));
    std::fflush(stdout);
  }
  if (offline) offline_speed();
  return 0;
}
