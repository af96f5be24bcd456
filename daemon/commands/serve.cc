// `jamd serve`: the daemon. One Conductor (the model, every jam's generation, batched), a
// JamHost per jam on the real-time virtual clock, all paced by one SharedClock thread and tapped
// and Opus-encoded by one SharedWorker thread (HostedJams), the session
// layer, and the jam.v1 gRPC API (health, reflection, optional TLS); optionally the web client's
// HTTP/WebSocket server beside it. Runs until SIGINT or SIGTERM, then stops in reverse order.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "daemon/api/api_server.h"
#include "daemon/conductor/conductor.h"
#include "daemon/host/jam_host.h"
#include "daemon/host/thread_priority.h"
#include "daemon/session/session_registry.h"
#include "daemon/stream/hosted_jams.h"
#include "daemon/web/web_server.h"
#include "realtime/synth/synth.h"

namespace jamd {
namespace {

constexpr const char* kUsage =
    "usage: jamd serve [--listen HOST:PORT] [--tls-cert FILE --tls-key FILE]\n"
    "                  [--model PATH] [--backend auto|cpu|cuda] [--soundfont SF]\n"
    "                  [--precision bf16|fp32] [--period FRAMES]\n"
    "                  [--http HOST:PORT [--web-root DIR]] [--record DIR] [--demo]\n"
    "                  [--sessions-only]\n"
    "\n"
    "Serves the jam.v1 API (docs/api.md): create jams, join with tokens, steer together, watch,\n"
    "and listen (Opus audio, notes). Every jam plays on its own real-time virtual clock; one\n"
    "conductor generates for all of them in one batch. Also grpc.health.v1 and server\n"
    "reflection. Stops on Ctrl-C or SIGTERM.\n"
    "  --listen HOST:PORT  where to listen (default 127.0.0.1:50051; 0.0.0.0:PORT for every\n"
    "                      interface; port 0 picks a free one and prints it)\n"
    "  --tls-cert FILE     PEM certificate chain: with --tls-key, serve TLS only\n"
    "  --tls-key FILE      PEM private key\n"
    "  --model PATH        model file (default: the bundled models/band.jamd)\n"
    "  --backend B         auto (default: CUDA when a GPU works, else the CPU), cpu or cuda\n"
    "  --precision P       bf16 (default: faster, within about 1e-2 of fp32) or fp32\n"
    "  --soundfont SF      'default' (TimGM6mb), 'fluidr3', or a .sf2 path\n"
    "  --period FRAMES     the jams' audio period at 48 kHz, 64..4096 (default 480: 10 ms, one\n"
    "                      Opus frame; smaller reacts sooner to mutes and volume, but a busy\n"
    "                      machine breaks more periods)\n"
    "  --http HOST:PORT    also serve the web client and its WebSocket here (e.g.\n"
    "                      127.0.0.1:8080)\n"
    "  --web-root DIR      the built web client's files (default: none, WebSocket only)\n"
    "  --record DIR        record every jam into DIR/<jam id>/: jam.mid (every part), mix.wav\n"
    "  --demo              create one jam at start and print its host, player and listener\n"
    "                      tokens (and the web address with --http)\n"
    "  --sessions-only     no model and no music: sessions and steering only\n";

// Open streams get this long to end after a signal before they are cancelled.
constexpr absl::Duration kShutdownGrace = absl::Seconds(2);
// One conductor serves every jam the session layer admits.
constexpr SessionLimits kLimits{};

JamHostOptions stream_host_options() {
  JamHostOptions host;
  host.period_frames = kStreamPeriodFrames;
  return host;
}

struct ServeArgs {
  api::ServerOptions api;
  ConductorOptions conductor{.model_path = JAMD_SOURCE_DIR "/models/band.jamd"};
  JamHostOptions host = stream_host_options();
  HostedJamsOptions hosted;
  web::WebServerOptions web;
  bool http = false;
  bool demo = false;
  bool sessions_only = false;
};

int usage_error(const std::string& message) {
  std::fprintf(stderr, "jamd serve: %s\n\n%s", message.c_str(), kUsage);
  return 2;
}

// 0: parsed; 1: --help printed; 2: a usage error (printed).
int parse(std::span<const char* const> args, ServeArgs& s) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "--help" || a == "-h") {
      std::printf("%s", kUsage);
      return 1;
    }
    if (a == "--demo") {
      s.demo = true;
      continue;
    }
    if (a == "--sessions-only") {
      s.sessions_only = true;
      continue;
    }
    if (i + 1 >= args.size()) {
      return usage_error(absl::StrCat("unknown or incomplete option '", std::string(a), "'"));
    }
    const char* v = args[++i];
    if (a == "--listen")
      s.api.listen_address = v;
    else if (a == "--tls-cert")
      s.api.tls_cert_file = v;
    else if (a == "--tls-key")
      s.api.tls_key_file = v;
    else if (a == "--model")
      s.conductor.model_path = v;
    else if (a == "--soundfont")
      s.host.soundfont = v;
    else if (a == "--period") {
      uint32_t frames = 0;
      if (!absl::SimpleAtoi(v, &frames) || frames < 64 || frames > 4096)
        return usage_error(absl::StrCat("bad --period '", v, "': a number of frames, 64..4096"));
      s.host.period_frames = frames;
    } else if (a == "--record")
      s.hosted.record_directory = v;
    else if (a == "--http") {
      s.http = true;
      s.web.listen_address = v;
    } else if (a == "--web-root")
      s.web.static_dir = v;
    else if (a == "--backend") {
      absl::StatusOr<models::BackendKind> kind = models::parse_backend_kind(v);
      if (!kind.ok())
        return usage_error(absl::StrCat("bad --backend '", v, "': auto, cpu or cuda"));
      s.conductor.backend = *kind;
    } else if (a == "--precision") {
      const std::string_view p = v;
      if (p != "bf16" && p != "fp32") {
        return usage_error(absl::StrCat("bad --precision '", v, "': bf16 or fp32"));
      }
      s.conductor.precision =
          p == "bf16" ? models::Precision::kReduced : models::Precision::kFloat32;
    } else {
      return usage_error(absl::StrCat("unknown option '", std::string(a), "'"));
    }
  }
  return 0;
}

// A --record directory that cannot be written fails at start, not at the first jam.
absl::Status check_record_directory(const std::string& dir) {
  if (dir.empty()) return absl::OkStatus();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || access(dir.c_str(), W_OK) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("--record ", dir, ": cannot write there (",
                                                   ec ? ec.message() : "permission denied",
                                                   "): choose a directory you can write"));
  }
  return absl::OkStatus();
}

void print_demo(const CreatedJam& jam, const web::WebServer* web_server) {
  std::printf("jamd serve: demo jam %s is playing\n", jam.jam_id.c_str());
  std::printf("  host token:     %s\n  player token:   %s\n  listener token: %s\n",
              jam.host_token.c_str(), jam.player_token.c_str(), jam.listener_token.c_str());
  std::printf("  jamctl join %s --name YOU   then: jamctl listen --out jam.wav --seconds 10\n",
              jam.player_token.c_str());
  if (web_server != nullptr) {
    std::printf("  web: http://127.0.0.1:%d/#join=%s\n", web_server->port(),
                jam.player_token.c_str());
  }
  std::fflush(stdout);
}

}  // namespace

int run_serve(std::span<const char* const> args) {
  ServeArgs s;
  s.conductor.max_jams = static_cast<int32_t>(kLimits.max_jams);
  if (int parsed = parse(args, s); parsed != 0) return parsed == 1 ? 0 : 2;

  // Signals are taken by sigwait below: block them before any thread starts (threads inherit
  // the mask).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // The music: one conductor for every jam, and a host and streamer per jam.
  std::unique_ptr<Conductor> conductor;
  std::unique_ptr<SharedClock> clock;    // every jam's periods, on SCHED_FIFO threads
  std::unique_ptr<SharedWorker> worker;  // every jam's tap and Opus encoding, on one thread
  std::unique_ptr<HostedJams> hosted;
  if (!s.sessions_only) {
    if (absl::StatusOr<std::string> sf = realtime::resolve_soundfont(s.host.soundfont); !sf.ok()) {
      std::fprintf(stderr, "jamd serve: %s\n", std::string(sf.status().message()).c_str());
      return 1;
    }
    if (absl::Status st = check_record_directory(s.hosted.record_directory); !st.ok()) {
      std::fprintf(stderr, "jamd serve: %s\n", std::string(st.message()).c_str());
      return 1;
    }
    absl::StatusOr<std::unique_ptr<Conductor>> created = Conductor::create(s.conductor);
    if (!created.ok()) {
      std::fprintf(stderr, "jamd serve: %s\n", std::string(created.status().message()).c_str());
      return 1;
    }
    conductor = *std::move(created);
    // Priorities (thread_priority.h): the synths, then generation, then encoding, then gRPC.
    start_at_nice(kConductorNice, [&conductor] { conductor->start(); });
    s.api.backend = conductor->backend_description();
    clock =
        std::make_unique<SharedClock>(SharedClockOptions{.sample_rate_hz = s.host.sample_rate_hz,
                                                         .period_frames = s.host.period_frames,
                                                         .rt_priority = kSharedClockRtPriority});
    worker = std::make_unique<SharedWorker>(SharedWorkerOptions{.nice = kSharedWorkerNice});
    s.host.shared_clock = clock.get();
    s.host.shared_worker = worker.get();
    s.hosted.shared_worker = worker.get();
    hosted = std::make_unique<HostedJams>(
        [&conductor, options = s.host](JamId id, const JamState& initial) {
          return JamHost::start(id, initial, *conductor, options);
        },
        s.hosted);
  }
  SessionRegistry jams(kLimits, hosted.get());
  absl::StatusOr<std::unique_ptr<api::ApiServer>> server =
      api::ApiServer::start(s.api, &jams, hosted.get());
  if (!server.ok()) {
    std::fprintf(stderr, "jamd serve: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  std::unique_ptr<web::WebServer> web_server;
  if (s.http) {
    absl::StatusOr<std::unique_ptr<web::WebServer>> started =
        web::WebServer::start(s.web, &jams, hosted.get());
    if (!started.ok()) {
      std::fprintf(stderr, "jamd serve: --http %s: %s\n", s.web.listen_address.c_str(),
                   std::string(started.status().message()).c_str());
      (*server)->shutdown(absl::ZeroDuration());
      return 1;
    }
    web_server = *std::move(started);
  }
  const std::string host = s.api.listen_address.substr(0, s.api.listen_address.rfind(':'));
  std::fprintf(stderr, "jamd serve: jam.v1 on %s:%d (%s), %s; Ctrl-C stops\n", host.c_str(),
               (*server)->port(), (*server)->tls() ? "TLS" : "plaintext",
               s.sessions_only ? "sessions only (no music)" : s.api.backend.c_str());
  if (web_server != nullptr) {
    std::fprintf(stderr, "jamd serve: web client on http://%s:%d/\n",
                 s.web.listen_address.substr(0, s.web.listen_address.rfind(':')).c_str(),
                 web_server->port());
  }
  std::fflush(stderr);
  if (s.demo) {
    absl::StatusOr<CreatedJam> demo = jams.create_jam(0);
    if (demo.ok()) print_demo(*demo, web_server.get());
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::fprintf(stderr, "jamd serve: %s: closing streams and stopping\n",
               signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  if (web_server != nullptr) web_server->shutdown();
  (*server)->shutdown(kShutdownGrace);
  if (hosted != nullptr) hosted->shutdown();
  if (conductor != nullptr) conductor->stop();
  std::fprintf(stderr, "jamd serve: stopped\n");
  return 0;
}

}  // namespace jamd
