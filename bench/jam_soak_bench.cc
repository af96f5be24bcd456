// jam_soak_bench: hours of jam on the virtual clock (the band alone, continue mode, the whole
// loop: conductor, scheduler, synth), as fast as possible. Per window of virtual time it prints
// the process's resident memory, the share of distinct bars (a bar = its notes' onsets in the
// bar, pitches, durations and parts; repetition collapse shows as a falling share), empty bars,
// notes and tokens per bar; at the end the drift between the sample clock and the musical clock
// (the RT scheduler's tick at the last frame against the exact tick of that frame at the jam's
// tempo) and the late notes.
//
//   jam_soak_bench [--minutes 120] [--window-minutes 10] [--tempo 120] [--seed 1]
//                  [--model models/band.jamd]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "daemon/conductor/offline_jam.h"

namespace jamd {
namespace {

struct Options {
  double minutes = 120.0;
  double window_minutes = 10.0;
  double tempo_bpm = 120.0;
  uint64_t seed = 1;
  std::string model = JAMD_SOURCE_DIR "/models/band.jamd";
};

double rss_mb() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1e6;
}

using BarKey = std::vector<std::tuple<int64_t, int, int64_t, int>>;  // onset, pitch, length, part

int run(const Options& o) {
  OfflineJamOptions jam;
  jam.model_path = o.model;
  jam.state.seed = o.seed;
  jam.state.tempo_bpm = o.tempo_bpm;
  jam.state.key_tonic = -1;
  jam.state.density = 0.5f;
  jam.state.mode = JamMode::kContinue;
  jam.state.parts[kPartPad].enabled = false;
  jam.state.parts[kPartLead].enabled = false;
  const double bar_s = 240.0 / o.tempo_bpm;
  jam.bars = static_cast<int64_t>(o.minutes * 60.0 / bar_s);
  const auto rate = static_cast<int64_t>(jam.sample_rate_hz);
  const auto window_frames =
      static_cast<int64_t>(o.window_minutes * 60.0 * static_cast<double>(rate));
  std::vector<double> rss_at_window_end;
  int64_t next_sample = window_frames;
  const double rss_start = rss_mb();
  const auto t0 = std::chrono::steady_clock::now();
  jam.on_period = [&](int64_t frame) {
    if (frame < next_sample) return;
    next_sample += window_frames;
    rss_at_window_end.push_back(rss_mb());
    std::fprintf(stderr, "  %.0f min of jam after %.0f s\n",
                 static_cast<double>(frame) / static_cast<double>(rate) / 60.0,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  };
  absl::StatusOr<OfflineJamResult> r = render_jam(jam);
  if (!r.ok()) return std::fprintf(stderr, "%s\n", r.status().ToString().c_str()), 1;

  const int64_t bar_ticks = 4 * kConductorTicksPerQuarter;
  std::map<int64_t, BarKey> bars;
  for (const TimedNote& n : r->record.band_notes) {
    const int64_t bar = n.tick / bar_ticks;
    bars[bar].emplace_back(n.tick - bar * bar_ticks, n.pitch, n.duration_ticks, n.part);
  }
  const auto bars_per_window = static_cast<int64_t>(o.window_minutes * 60.0 / bar_s);
  std::printf(
      "jam_soak_bench: %.0f min at %.0f BPM (%lld bars), drums/bass/keys, continue mode, "
      "seed %llu, %s\n",
      o.minutes, o.tempo_bpm, static_cast<long long>(r->bars),
      static_cast<unsigned long long>(o.seed), r->backend.c_str());
  std::printf(
      "| window (min) | RSS at end (MB) | distinct bars | empty bars | notes/bar | "
      "tokens/bar |\n| --- | --- | --- | --- | --- | --- |\n");
  for (int64_t w = 0; w * bars_per_window < r->bars; ++w) {
    const int64_t first = w * bars_per_window;
    const int64_t last = std::min(r->bars, first + bars_per_window);
    std::set<BarKey> distinct;
    int64_t empty = 0, notes = 0, tokens = 0;
    for (int64_t b = first; b < last; ++b) {
      BarKey key;
      if (const auto it = bars.find(b); it != bars.end()) key = it->second;
      std::sort(key.begin(), key.end());
      empty += key.empty();
      notes += static_cast<int64_t>(key.size());
      distinct.insert(key);
      if (const auto it = r->record.bars.find(b); it != r->record.bars.end()) {
        tokens += it->second.tokens_generated;
      }
    }
    const auto n = static_cast<double>(last - first);
    std::printf("| %.0f-%.0f | %.1f | %.3f | %.3f | %.1f | %.1f |\n",
                static_cast<double>(w) * o.window_minutes,
                static_cast<double>(w + 1) * o.window_minutes,
                static_cast<size_t>(w) < rss_at_window_end.size()
                    ? rss_at_window_end[static_cast<size_t>(w)]
                    : rss_mb(),
                static_cast<double>(distinct.size()) / n, static_cast<double>(empty) / n,
                static_cast<double>(notes) / n, static_cast<double>(tokens) / n);
  }
  const double exact_tick = static_cast<double>(r->render.frames) / static_cast<double>(rate) *
                            o.tempo_bpm / 60.0 * kConductorTicksPerQuarter;
  std::printf(
      "RSS: %.1f MB before the jam, %.1f MB at the end (the record of every note played "
      "stays in memory: %zu notes)\n",
      rss_start, rss_mb(), r->record.band_notes.size());
  std::printf(
      "clocks: %llu frames; RT scheduler at tick %lld, exact %.2f: drift %.2f ticks "
      "(%.3f ms); %llu late notes, %lld refused\n",
      static_cast<unsigned long long>(r->render.frames),
      static_cast<long long>(r->playhead_tick_end), exact_tick,
      static_cast<double>(r->playhead_tick_end) - exact_tick,
      (static_cast<double>(r->playhead_tick_end) - exact_tick) / kConductorTicksPerQuarter *
          60000.0 / o.tempo_bpm,
      static_cast<unsigned long long>(r->events_late),
      static_cast<long long>(r->record.notes_refused));
  std::printf("render: %.0f s of audio in %.0f s (%.1fx real time), %lld tokens\n",
              static_cast<double>(r->render.frames) / static_cast<double>(rate),
              r->render.wall_seconds, r->render.speed_x_real_time,
              static_cast<long long>(r->tokens_generated));
  return 0;
}

}  // namespace
}  // namespace jamd

int main(int argc, char** argv) {
  jamd::Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view a = argv[i];
    if (a == "--minutes")
      o.minutes = std::atof(argv[i + 1]);
    else if (a == "--window-minutes")
      o.window_minutes = std::atof(argv[i + 1]);
    else if (a == "--tempo")
      o.tempo_bpm = std::atof(argv[i + 1]);
    else if (a == "--seed")
      o.seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--model")
      o.model = argv[i + 1];
    else
      return std::fprintf(stderr, "unknown option %s\n", argv[i]), 2;
  }
  if (argc % 2 == 0) return std::fprintf(stderr, "usage: see the file's header\n"), 2;
  return jamd::run(o);
}
