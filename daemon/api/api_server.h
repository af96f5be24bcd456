// ApiServer: the gRPC server of jamd: the Jam service, grpc.health.v1 health and server
// reflection, message size limits, keepalive, and TLS when certificate files are configured.
//
//   jamd::SessionRegistry jams;
//   jamd::api::ServerOptions options;  options.listen_address = "127.0.0.1:0";
//   std::unique_ptr<jamd::api::ApiServer> server = *jamd::api::ApiServer::start(options, &jams);
//   connect to absl::StrCat("127.0.0.1:", server->port());
//   server->shutdown(absl::Seconds(2));  // streams end, then the server stops
//
// Thread safety: start and shutdown from one thread (main); port() from any thread.
#pragma once

#include <grpcpp/server.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/api/jam_service.h"
#include "daemon/session/session_registry.h"

namespace jamd::api {

struct ServerOptions {
  std::string listen_address = "127.0.0.1:50051";  // host:port; port 0 picks a free one
  std::string tls_cert_file;  // PEM certificate chain; with tls_key_file turns TLS on
  std::string tls_key_file;   // PEM private key
  int max_receive_message_bytes = 64 * 1024;  // a steer is < 2 KiB; bigger is RESOURCE_EXHAUSTED
  int max_send_message_bytes = 4 * 1024 * 1024;
  std::string backend = "sessions only: no conductor attached";  // GetStatus's backend line
};

class ApiServer {
 public:
  // Binds and starts serving. Errors: INVALID_ARGUMENT (TLS half configured, unreadable
  // files), UNAVAILABLE (cannot listen on the address). jams and media outlive the server;
  // media may be null (no music: ListenAudio and ListenNotes are UNAVAILABLE).
  static absl::StatusOr<std::unique_ptr<ApiServer>> start(const ServerOptions& options,
                                                          SessionRegistry* jams,
                                                          JamMedia* media = nullptr);
  ~ApiServer();

  int port() const { return port_; }
  bool tls() const { return tls_; }
  // Stops accepting calls, lets calls finish for up to `grace`, then cancels the rest (open
  // watch streams). Idempotent.
  void shutdown(absl::Duration grace);

 private:
  ApiServer(std::unique_ptr<JamService> service, std::unique_ptr<grpc::Server> server, int port,
            bool tls);

  std::unique_ptr<JamService> service_;
  std::unique_ptr<grpc::Server> server_;
  const int port_;
  const bool tls_;
  bool stopped_ = false;
};

}  // namespace jamd::api
