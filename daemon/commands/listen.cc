// `jamd listen FILE.wav|FILE.mid [--json] [--real-time]`: the listener's offline twin. Runs the
// same analysis the live listener runs on JACK input, over a file, and prints what it heard.
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "realtime/listen/listen_file.h"

namespace jamd {
namespace {

constexpr const char* kUsage =
    "usage: jamd listen FILE.wav|FILE.mid [--json] [--real-time] [--decide-at BEATS]\n"
    "\n"
    "Listens to a recording the way jamd listens to a live musician and prints what it heard:\n"
    "beats with the tempo around each, notes, the chord of each beat and the key.\n"
    "  FILE            a WAV file (PCM 16/24-bit or float, any rate, mono or stereo) or a\n"
    "                  Standard MIDI File; told apart by content\n"
    "  --json          print everything as JSON (default: a short summary)\n"
    "  --real-time     pace the input like a live performance (default: as fast as possible)\n"
    "  --decide-at B   decide each beat's chord B beats into it, 0 < B <= 1 (default 0.75);\n"
    "                  from MIDI a full chord (three pitch classes or more) is decided at 0.25\n"
    "                  beat by default, or at B if earlier\n";

void print_summary(const realtime::ListenResult& r) {
  int beats = 0, chords = 0, notes = 0;
  double last_tempo = 0;
  std::string key = "none", last_chord;
  for (const realtime::HeardEvent& e : r.events) {
    switch (e.kind) {
      case realtime::HeardKind::kBeat:
        ++beats, last_tempo = e.tempo_bpm;
        break;
      case realtime::HeardKind::kChord:
        ++chords;
        break;
      case realtime::HeardKind::kNoteOn:
        ++notes;
        break;
      case realtime::HeardKind::kKey:
        key = realtime::key_name(e.key);
        break;
      default:
        break;
    }
  }
  std::printf("%s: %s, %.1f s, analysed in %.2f s\n", r.path.c_str(), r.kind.c_str(), r.duration_s,
              r.wall_s);
  std::printf("  %d beats (last tempo %.1f BPM), %d chords, %d notes, key %s\n", beats, last_tempo,
              chords, notes, key.c_str());
  std::printf("  chords per beat:");
  for (const realtime::HeardEvent& e : r.events) {
    if (e.kind == realtime::HeardKind::kChord) {
      std::printf(" %s", realtime::chord_name(e.chord).c_str());
    }
  }
  std::printf("\n");
}

}  // namespace

int run_listen(std::span<const char* const> args) {
  std::string path;
  bool json = false;
  realtime::ListenFileOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "--help" || a == "-h") {
      std::printf("%s", kUsage);
      return 0;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--real-time") {
      options.real_time = true;
    } else if (a == "--decide-at" && i + 1 < args.size()) {
      const double b = std::atof(args[++i]);
      if (!(b > 0 && b <= 1)) {
        std::fprintf(stderr, "jamd listen: --decide-at takes beats in (0, 1], not '%s'\n", args[i]);
        return 2;
      }
      options.listener.chord_decision_beats = b;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "jamd listen: unknown option '%s'\n%s", args[i], kUsage);
      return 2;
    } else if (path.empty()) {
      path = a;
    } else {
      std::fprintf(stderr, "jamd listen: one file at a time ('%s' and '%s')\n", path.c_str(),
                   args[i]);
      return 2;
    }
  }
  if (path.empty()) {
    std::fprintf(stderr, "jamd listen: which file?\n%s", kUsage);
    return 2;
  }
  absl::StatusOr<realtime::ListenResult> result = realtime::listen_file(path, options);
  if (!result.ok()) {
    std::fprintf(stderr, "jamd listen: %s\n", std::string(result.status().message()).c_str());
    return 1;
  }
  for (const std::string& w : result->warnings) {
    std::fprintf(stderr, "jamd listen: warning: %s\n", w.c_str());
  }
  if (json) {
    std::fputs(realtime::listen_result_json(*result).c_str(), stdout);
  } else {
    print_summary(*result);
  }
  return 0;
}

}  // namespace jamd
