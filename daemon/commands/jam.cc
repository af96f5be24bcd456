// `jamd jam --jack [...]`: one live jam on JACK (jamd:in_1/in_2 and jamd:midi_in in, jamd:out_L/R
// and jamd:midi_out out) with the conductor, until Ctrl-C, SIGTERM or --seconds; a status line
// per bar; optionally recorded (--record DIR).
#include <signal.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "daemon/commands/cli_args.h"
#include "daemon/conductor/conductor.h"
#include "daemon/host/jam_host.h"
#include "daemon/record/jam_recorder.h"
#include "realtime/jack/jack_io.h"
#include "realtime/listen/heard_event.h"

namespace jamd {
namespace {

using cli::parse_key;
using cli::parse_number;
using cli::parse_parts;

constexpr const char* kUsage =
    "usage: jamd jam --jack [--client NAME] [--server NAME] [--autoconnect]\n"
    "                [--parts drums,bass,keys] [--tempo BPM] [--key TONIC:maj|min] [--seed N]\n"
    "                [--mode auto|accompany|continue] [--density D] [--temperature T]\n"
    "                [--model PATH] [--backend auto|cpu|cuda] [--soundfont SF]\n"
    "                [--precision bf16|fp32]\n"
    "                [--record DIR] [--seconds N]\n"
    "                [--no-monitor] [--monitor-program P] [--monitor-volume V]\n"
    "\n"
    "Jams live: listens to you on JACK and plays the band around you, generated bar by bar,\n"
    "until Ctrl-C (or SIGTERM, or --seconds). Prints a status line every bar.\n"
    "  --jack           play on JACK: ports <client>:in_1, in_2 (your audio), midi_in (your\n"
    "                   keyboard), out_L, out_R (the band), midi_out (the band as MIDI).\n"
    "                   Without it the jam runs on a real-time virtual clock (nothing is heard;\n"
    "                   useful with --record)\n"
    "  --client NAME    JACK client name (default jamd); a taken name is an error\n"
    "  --server NAME    JACK server (default: $JACK_DEFAULT_SERVER, else 'default')\n"
    "  --autoconnect    connect in_1/in_2 to system:capture_1/2 and out_L/out_R to\n"
    "                   system:playback_1/2 (and the first physical MIDI ports)\n"
    "  --parts LIST     band parts (default drums,bass,keys)\n"
    "  --tempo BPM      starting tempo, 30..300 (default 100)\n"
    "  --key K          C:maj, A:min, ... (default: the model and your chords choose)\n"
    "  --seed N         the generator's seed (default 1)\n"
    "  --mode M         auto (default: accompany while you play, continue while you rest),\n"
    "                   accompany, continue\n"
    "  --density D      0..1, every part's density (default 0.5)\n"
    "  --temperature T  sampling temperature 0.1..2 (default 1)\n"
    "  --model PATH     model file (default: the bundled models/band.jamd)\n"
    "  --backend B      auto (default: CUDA when a GPU works, else the CPU), cpu or cuda\n"
    "  --precision P    bf16 (default: faster, within about 1e-2 of fp32) or fp32\n"
    "  --soundfont SF   'default' (TimGM6mb), 'fluidr3', or a .sf2 path\n"
    "  --record DIR     record into DIR: jam.mid (you and every part), mix.wav, input.wav;\n"
    "                   written as it plays, so a crash loses at most about a second\n"
    "  --seconds N      stop after N seconds\n"
    "  --no-monitor     do not play your MIDI (midi_in) on jamd's synth; by default it plays,\n"
    "                   in the period it arrives, for a keyboard without a sound of its own\n"
    "  --monitor-program P  General MIDI program for your MIDI, 0..127 (default 0, piano)\n"
    "  --monitor-volume V   its volume, 0..1 (default 0.8)\n"
    "Exit status: 0 after a clean stop, 1 on an error (one line on stderr), 2 on bad usage.\n";

volatile std::sig_atomic_t g_stop_requested = 0;
void request_stop(int) { g_stop_requested = 1; }

struct JamArgs {
  JamState state;
  JamHostOptions host;
  ConductorOptions conductor;
  std::string record_dir;
  double seconds = 0.0;  // 0: until a signal
};

int usage_error(const std::string& message) {
  std::fprintf(stderr, "jamd jam: %s; see 'jamd jam --help'\n", message.c_str());
  return 2;
}

// Parses one option with a value; false when the value is not valid.
bool parse_option(std::string_view a, const char* v, JamArgs& r) {
  double n = 0;
  if (a == "--client")
    r.host.jack_client_name = v;
  else if (a == "--server")
    r.host.jack_server_name = v;
  else if (a == "--model")
    r.conductor.model_path = v;
  else if (a == "--soundfont")
    r.host.soundfont = v;
  else if (a == "--record")
    r.record_dir = v;
  else if (a == "--backend") {
    absl::StatusOr<models::BackendKind> kind = models::parse_backend_kind(v);
    if (!kind.ok()) return false;
    r.conductor.backend = *kind;
  } else if (a == "--precision") {
    const std::string_view p = v;
    if (p != "bf16" && p != "fp32") return false;
    r.conductor.precision = p == "bf16" ? models::Precision::kReduced : models::Precision::kFloat32;
  } else if (a == "--parts")
    return parse_parts(v, r.state);
  else if (a == "--key")
    return parse_key(v, r.state);
  else if (a == "--seed" && parse_number(v, 1, 1.8e19, n))
    r.state.seed = std::strtoull(v, nullptr, 10);
  else if (a == "--tempo" && parse_number(v, 30, 300, n))
    r.state.tempo_bpm = n;
  else if (a == "--density" && parse_number(v, 0, 1, n))
    r.state.density = static_cast<float>(n);
  else if (a == "--temperature" && parse_number(v, 0.1, 2, n))
    r.state.temperature = static_cast<float>(n);
  else if (a == "--seconds" && parse_number(v, 0.1, 1e9, n))
    r.seconds = n;
  else if (a == "--monitor-program" && parse_number(v, 0, 127, n))
    r.host.monitor.gm_program = static_cast<int>(n);
  else if (a == "--monitor-volume" && parse_number(v, 0, 1, n))
    r.state.monitor_volume = static_cast<float>(n);
  else if (a == "--mode") {
    const std::string_view m = v;
    if (m == "auto")
      r.state.mode = JamMode::kAuto;
    else if (m == "accompany")
      r.state.mode = JamMode::kAccompany;
    else if (m == "continue")
      r.state.mode = JamMode::kContinue;
    else
      return false;
  } else {
    return false;
  }
  return true;
}

std::string mode_now(const JamState& state, const JamHostStats& stats) {
  switch (state.mode) {
    case JamMode::kAccompany:
      return "accompany";
    case JamMode::kContinue:
      return "continue";
    case JamMode::kCallAndResponse:
      return "call-and-response";
    case JamMode::kAuto:
      return stats.musician_playing ? "accompany (auto)" : "continue (auto)";
  }
  return "?";
}

void print_ports(const JamArgs& r) {
  if (r.host.clock != JamHostOptions::Clock::kJack) {
    std::printf(
        "jamd jam: no --jack: the jam runs on a real-time virtual clock (nothing is "
        "heard)\n");
    return;
  }
  const std::string& c = r.host.jack_client_name;
  std::printf("jamd jam: on JACK server '%s' as '%s'\n",
              realtime::jack_server_in_effect(r.host.jack_server_name).c_str(), c.c_str());
  std::printf("  you:  %s:in_1 %s:in_2 (audio)  %s:midi_in (MIDI)\n", c.c_str(), c.c_str(),
              c.c_str());
  std::printf("  band: %s:out_L %s:out_R (audio)  %s:midi_out (MIDI)\n", c.c_str(), c.c_str(),
              c.c_str());
  if (r.host.monitor.enabled) {
    std::printf("  your MIDI plays on out_L/out_R too (GM program %d; --no-monitor: not)\n",
                r.host.monitor.gm_program);
  }
  if (!r.host.jack_autoconnect) {
    std::printf(
        "  connect them (e.g. jack_connect %s:out_L system:playback_1), or pass "
        "--autoconnect\n",
        c.c_str());
  }
}

}  // namespace

int run_jam(std::span<const char* const> args) {
  JamArgs r;
  r.conductor.model_path = JAMD_SOURCE_DIR "/models/band.jamd";
  r.conductor.max_jams = 1;
  r.state.seed = 1;
  r.state.key_tonic = -1;
  r.state.density = 0.5f;
  r.state.parts[kPartPad].enabled = false;
  r.state.parts[kPartLead].enabled = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "--help" || a == "-h") {
      std::printf("%s", kUsage);
      return 0;
    }
    if (a == "--jack") {
      r.host.clock = JamHostOptions::Clock::kJack;
      continue;
    }
    if (a == "--autoconnect") {
      r.host.jack_autoconnect = true;
      continue;
    }
    if (a == "--no-monitor") {
      r.host.monitor.enabled = false;
      continue;
    }
    if (!a.starts_with("--") || i + 1 >= args.size()) {
      return usage_error(absl::StrCat("bad or incomplete option '", std::string(a), "'"));
    }
    const char* value = args[++i];
    if (!parse_option(a, value, r)) {
      return usage_error(absl::StrCat("bad value '", value, "' for ", std::string(a)));
    }
  }

  absl::StatusOr<std::unique_ptr<Conductor>> conductor = Conductor::create(r.conductor);
  if (!conductor.ok()) {
    std::fprintf(stderr, "jamd jam: %s\n", std::string(conductor.status().message()).c_str());
    return 1;
  }
  (*conductor)->start();
  absl::StatusOr<std::unique_ptr<JamHost>> host = JamHost::start(1, r.state, **conductor, r.host);
  if (!host.ok()) {
    std::fprintf(stderr, "jamd jam: %s\n", std::string(host.status().message()).c_str());
    return 1;
  }
  std::unique_ptr<JamRecorder> recorder;
  if (!r.record_dir.empty()) {
    absl::StatusOr<std::unique_ptr<JamRecorder>> started =
        JamRecorder::start(**host, r.state, {.directory = r.record_dir});
    if (!started.ok()) {
      (*host)->stop();
      std::fprintf(stderr, "jamd jam: %s\n", std::string(started.status().message()).c_str());
      return 1;
    }
    recorder = std::move(*started);
  }

  struct sigaction action = {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  print_ports(r);
  std::printf("  model on %s; %s; Ctrl-C stops\n", (*conductor)->backend_description().c_str(),
              recorder ? absl::StrCat("recording into ", r.record_dir).c_str() : "not recording");
  std::fflush(stdout);
  const auto started_at = std::chrono::steady_clock::now();
  int64_t printed_bar = -1;
  uint64_t jack_losses_told = 0;
  uint64_t jack_reconnects_told = 0;
  while (g_stop_requested == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const JamHostStats s = (*host)->stats();
    if (s.jack_server_losses != jack_losses_told) {
      jack_losses_told = s.jack_server_losses;
      std::fprintf(stderr,
                   "jamd jam: the JACK server has gone away; the jam waits for it and "
                   "goes on when a server of the same name is started again\n");
    }
    if (s.jack_reconnects != jack_reconnects_told) {
      jack_reconnects_told = s.jack_reconnects;
      std::fprintf(stderr, "jamd jam: the JACK server is back; ports and connections restored\n");
    }
    if (s.frames_played > 0 && s.bar != printed_bar) {
      printed_bar = s.bar;
      std::printf("bar %lld  tempo %.1f  heard %s  mode %s  xruns %llu\n",
                  static_cast<long long>(s.bar + 1), s.tempo_bpm, s.heard_chord.c_str(),
                  mode_now(r.state, s).c_str(), static_cast<unsigned long long>(s.xruns));
      std::fflush(stdout);
    }
    if (!(*conductor)->status().ok()) break;
    if (r.seconds > 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at).count() >=
            r.seconds) {
      break;
    }
  }
  (*host)->stop();
  if (recorder) recorder->stop();
  (*conductor)->stop();
  const JamHostStats s = (*host)->stats();
  std::printf(
      "jamd jam: stopped after %.1f s of music, %llu xruns, %llu late events (%llu notes "
      "dropped), %.1f s unplanned\n",
      static_cast<double>(s.frames_played) / (*host)->sample_rate_hz(),
      static_cast<unsigned long long>(s.xruns), static_cast<unsigned long long>(s.late_events),
      static_cast<unsigned long long>(s.late_note_ons_dropped),
      static_cast<double>(s.unplanned_frames) / (*host)->sample_rate_hz());
  int exit_code = 0;
  if (recorder) {
    const RecorderStats rs = recorder->stats();
    std::printf("  recorded %s, %s (%.1f s)%s\n", recorder->paths().midi.c_str(),
                recorder->paths().mix.c_str(),
                static_cast<double>(rs.mix_frames) / (*host)->sample_rate_hz(),
                rs.input_frames > 0 ? absl::StrCat(", ", recorder->paths().input).c_str() : "");
    if (!recorder->status().ok()) {
      std::fprintf(stderr, "jamd jam: recording: %s\n",
                   std::string(recorder->status().message()).c_str());
      exit_code = 1;
    }
  }
  if (!(*conductor)->status().ok()) {
    std::fprintf(stderr, "jamd jam: %s\n", std::string((*conductor)->status().message()).c_str());
    exit_code = 1;
  }
  return exit_code;
}

}  // namespace jamd
