// `jamd play [FILE.mid] (--out FILE.wav | --jack ...)`: plays a MIDI file through the band's own
// scheduler and synthesizer, offline into a WAV (faster than real time) or live through JACK.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include "daemon/commands/cli_args.h"
#include "realtime/core/scheduler.h"
#include "realtime/core/song.h"
#include "realtime/jack/jack_io.h"
#include "realtime/midi/midi_file.h"
#include "realtime/synth/band.h"
#include "realtime/synth/song_render.h"
#include "realtime/synth/synth.h"

namespace jamd {
namespace {

using cli::parse_number;

constexpr const char* kUsage =
    "usage: jamd play [FILE.mid] (--out FILE.wav | --jack [--client-name N] [--server-name S]\n"
    "                 [--no-connect] [--seconds N]) [--soundfont SF] [--sample-rate HZ]\n"
    "                 [--period FRAMES]\n"
    "\n"
    "Plays a Standard MIDI File through jamd's scheduler and General MIDI synthesizer.\n"
    "  FILE.mid         the song (default: the bundled demo, daemon/data/demo.mid)\n"
    "  --out FILE.wav   render offline, as fast as possible, to a 16-bit stereo WAV\n"
    "  --jack           play live through JACK (ports jamd:out_L/out_R, jamd:midi_out)\n"
    "  --client-name N  JACK client name (default jamd)\n"
    "  --server-name S  JACK server name (default: the default server)\n"
    "  --no-connect     do not connect the outputs to the system playback ports\n"
    "  --seconds N      with --jack: stop after N seconds (default: the song's length)\n"
    "  --soundfont SF   'default' (TimGM6mb), 'fluidr3' (FluidR3_GM), or a .sf2 path\n"
    "  --sample-rate HZ offline sample rate (default 48000; live: the JACK server's)\n"
    "  --period FRAMES  offline period (default 256)\n";

// How often the live feeder wakes: well inside the horizon.
constexpr auto kLiveFeedInterval = std::chrono::milliseconds(20);

struct PlayArgs {
  std::string midi_path;
  std::string wav_path;
  bool jack = false;
  realtime::JackOptions jack_options;
  double seconds = 0.0;
  std::string soundfont = "default";
  uint32_t sample_rate_hz = 48000;
  uint32_t period_frames = 256;
};

std::atomic<bool> g_interrupted{false};

void on_signal(int) { g_interrupted.store(true); }

int fail(const std::string& message) {
  std::fprintf(stderr, "jamd play: %s\n", message.c_str());
  return 1;
}

// True to go on; false to exit with exit_status (2 for a usage error, 0 after --help).
bool parse_args(std::span<const char* const> args, PlayArgs& p, int& exit_status) {
  auto value = [&](size_t& i) -> const char* { return i + 1 < args.size() ? args[++i] : nullptr; };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    const char* v = nullptr;
    double number = 0;
    if (a == "--help" || a == "-h") {
      std::printf("%s", kUsage);
      exit_status = 0;
      return false;
    } else if (a == "--jack") {
      p.jack = true;
    } else if (a == "--no-connect") {
      p.jack_options.auto_connect = false;
    } else if ((a == "--out" || a == "--client-name" || a == "--server-name" ||
                a == "--soundfont") &&
               (v = value(i)) != nullptr) {
      std::string& target = a == "--out"           ? p.wav_path
                            : a == "--client-name" ? p.jack_options.client_name
                            : a == "--server-name" ? p.jack_options.server_name
                                                   : p.soundfont;
      target = v;
    } else if (a == "--seconds" && (v = value(i)) != nullptr &&
               parse_number(v, 0.001, 1e7, number)) {
      p.seconds = number;
    } else if (a == "--sample-rate" && (v = value(i)) != nullptr &&
               parse_number(v, 8000, 96000, number)) {
      p.sample_rate_hz = static_cast<uint32_t>(number);
    } else if (a == "--period" && (v = value(i)) != nullptr && parse_number(v, 1, 8192, number)) {
      p.period_frames = static_cast<uint32_t>(number);
    } else if (!a.starts_with("-") && p.midi_path.empty()) {
      p.midi_path = std::string(a);
    } else {
      std::fprintf(stderr, "jamd play: bad or incomplete option '%s'; see 'jamd play --help'\n",
                   args[i]);
      exit_status = 2;
      return false;
    }
  }
  if (p.jack == !p.wav_path.empty()) {
    std::fprintf(stderr, "jamd play: give exactly one of --out FILE.wav or --jack\n");
    exit_status = 2;
    return false;
  }
  if (p.midi_path.empty()) p.midi_path = JAMD_SOURCE_DIR "/daemon/data/demo.mid";
  return true;
}

void print_counters(const realtime::Scheduler& sched) {
  const realtime::SchedulerCounters& c = sched.counters();
  std::printf("  %llu events played, %llu late (latest by %llu frames), %llu dropped\n",
              static_cast<unsigned long long>(c.events_played.load()),
              static_cast<unsigned long long>(c.events_late.load()),
              static_cast<unsigned long long>(c.late_frames_max.load()),
              static_cast<unsigned long long>(c.events_overflowed.load()));
}

int render_to_wav(const PlayArgs& p, const realtime::Song& song) {
  realtime::SongRenderOptions options;
  options.wav_path = p.wav_path;
  options.period_frames = p.period_frames;
  options.synth.soundfont = p.soundfont;
  options.synth.sample_rate_hz = p.sample_rate_hz;
  absl::StatusOr<realtime::SongRenderResult> r = realtime::render_song_to_wav(song, options);
  if (!r.ok()) return fail(std::string(r.status().message()));
  std::printf("jamd play: rendered %.1f s of %s in %.2f s (%.0fx real time)\n",
              static_cast<double>(r->stats.frames) / p.sample_rate_hz, p.midi_path.c_str(),
              r->stats.wall_seconds, r->stats.speed_x_real_time);
  std::printf("  wrote %s (%u Hz, stereo, 16-bit)\n", p.wav_path.c_str(), p.sample_rate_hz);
  std::printf("  %llu events played, %llu late, %llu dropped\n",
              static_cast<unsigned long long>(r->events_played),
              static_cast<unsigned long long>(r->events_late),
              static_cast<unsigned long long>(r->events_dropped));
  return 0;
}

int play_on_jack(PlayArgs p, const realtime::Song& song) {
  absl::StatusOr<std::unique_ptr<realtime::JackIo>> io = realtime::make_jack_io(p.jack_options);
  if (!io.ok()) return fail(std::string(io.status().message()));
  const uint32_t rate_hz = (*io)->sample_rate_hz();
  absl::StatusOr<std::unique_ptr<realtime::Synth>> synth =
      realtime::Synth::create({.soundfont = p.soundfont, .sample_rate_hz = rate_hz});
  if (!synth.ok()) return fail(std::string(synth.status().message()));
  realtime::Scheduler sched(realtime::song_scheduler_options(song, rate_hz));
  realtime::SongFeeder feeder(song, rate_hz);
  realtime::Band band(sched, **synth);
  const auto horizon = static_cast<int64_t>(realtime::kSongFeedHorizonSeconds * rate_hz);
  const int64_t end_frame =
      p.seconds > 0
          ? static_cast<int64_t>(p.seconds * rate_hz)
          : feeder.end_frame() + static_cast<int64_t>(realtime::kSongTailSeconds * rate_hz);
  feeder.feed(sched, horizon);
  if (absl::Status s = (*io)->start(&band); !s.ok()) return fail(std::string(s.message()));
  std::printf("jamd play: playing %s on JACK as '%s' at %u Hz; Ctrl-C stops\n", p.midi_path.c_str(),
              (*io)->client_name().c_str(), rate_hz);
  std::fflush(stdout);
  while (!g_interrupted.load() && (*io)->connected() &&
         static_cast<int64_t>(sched.playhead_frame()) < end_frame) {
    feeder.feed(sched, static_cast<int64_t>(sched.playhead_frame()) + horizon);
    std::this_thread::sleep_for(kLiveFeedInterval);
  }
  sched.stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the stop reach the RT side
  const bool lost_server = !(*io)->connected();
  (*io)->stop();
  std::printf("jamd play: played %.1f s; %llu xruns\n",
              static_cast<double>(sched.playhead_frame()) / rate_hz,
              static_cast<unsigned long long>((*io)->counters().xruns.load()));
  print_counters(sched);
  if (lost_server) return fail("the JACK server went away; start it again and retry");
  return 0;
}

}  // namespace

int run_play(std::span<const char* const> args) {
  PlayArgs p;
  p.jack_options.auto_connect = true;
  int exit_status = 0;
  if (!parse_args(args, p, exit_status)) return exit_status;
  absl::StatusOr<realtime::MidiFile> file = realtime::read_midi_file(p.midi_path);
  if (!file.ok()) return fail(std::string(file.status().message()));
  absl::StatusOr<realtime::Song> song = realtime::song_from_midi(*file);
  if (!song.ok()) {
    return fail(p.midi_path + ": " + std::string(song.status().message()) +
                "; pick a file with notes in it");
  }
  // A missing SoundFont is reported before anything else is started.
  if (absl::StatusOr<std::string> sf = realtime::resolve_soundfont(p.soundfont); !sf.ok()) {
    return fail(std::string(sf.status().message()));
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  if (p.jack) return play_on_jack(p, *song);
  return render_to_wav(p, *song);
}

}  // namespace jamd
