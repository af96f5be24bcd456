// `jamd serve [--listen HOST:PORT] [--tls-cert F --tls-key F]`: runs the jam.v1 gRPC API (jams,
// steering, watching; health and reflection) until SIGINT or SIGTERM, then shuts down gracefully.
#include <csignal>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>

#include "daemon/api/api_server.h"
#include "daemon/session/session_registry.h"

namespace jamd {
namespace {

constexpr const char* kUsage =
    "usage: jamd serve [--listen HOST:PORT] [--tls-cert FILE --tls-key FILE]\n"
    "\n"
    "Serves the jam.v1 API (docs/api.md): create jams, join with tokens, steer together, watch.\n"
    "Also grpc.health.v1 and server reflection. Stops on Ctrl-C or SIGTERM.\n"
    "  --listen HOST:PORT  where to listen (default 127.0.0.1:50051; 0.0.0.0:PORT for every\n"
    "                      interface; port 0 picks a free one and prints it)\n"
    "  --tls-cert FILE     PEM certificate chain: with --tls-key, serve TLS only\n"
    "  --tls-key FILE      PEM private key\n";

// Open streams get this long to end after a signal before they are cancelled.
constexpr absl::Duration kShutdownGrace = absl::Seconds(2);

}  // namespace

int run_serve(std::span<const char* const> args) {
  api::ServerOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "--help" || a == "-h") {
      std::printf("%s", kUsage);
      return 0;
    } else if (a == "--listen" && has_value) {
      options.listen_address = args[++i];
    } else if (a == "--tls-cert" && has_value) {
      options.tls_cert_file = args[++i];
    } else if (a == "--tls-key" && has_value) {
      options.tls_key_file = args[++i];
    } else {
      std::fprintf(stderr, "jamd serve: unknown or incomplete option '%s'\n\n%s", args[i], kUsage);
      return 2;
    }
  }
  // Signals are taken by sigwait below: block them before gRPC starts its threads, which
  // inherit the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  SessionRegistry jams;
  absl::StatusOr<std::unique_ptr<api::ApiServer>> server = api::ApiServer::start(options, &jams);
  if (!server.ok()) {
    std::fprintf(stderr, "jamd serve: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  const std::string host = options.listen_address.substr(0, options.listen_address.rfind(':'));
  std::fprintf(stderr, "jamd serve: jam.v1 on %s:%d (%s); Ctrl-C stops\n", host.c_str(),
               (*server)->port(), (*server)->tls() ? "TLS" : "plaintext");
  std::fflush(stderr);
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::fprintf(stderr, "jamd serve: %s: closing streams and stopping\n",
               signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  (*server)->shutdown(kShutdownGrace);
  std::fprintf(stderr, "jamd serve: stopped\n");
  return 0;
}

}  // namespace jamd
