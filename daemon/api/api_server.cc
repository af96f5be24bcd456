// ApiServer: builds the gRPC server with its limits, health, reflection and credentials.
#include "daemon/api/api_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"

namespace jamd::api {
namespace {

// A dead client's stream is noticed within keepalive time + timeout even without writes.
constexpr int kKeepaliveTimeMs = 30'000;
constexpr int kKeepaliveTimeoutMs = 10'000;
constexpr int kMaxConcurrentStreamsPerConnection = 64;

absl::StatusOr<std::string> read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read the ", what, " file '", path,
                                                   "': check the path and its permissions"));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials(const ServerOptions& o) {
  if (o.tls_cert_file.empty() && o.tls_key_file.empty()) return grpc::InsecureServerCredentials();
  if (o.tls_cert_file.empty() || o.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both a certificate and a key file (--tls-cert and --tls-key)");
  }
  absl::StatusOr<std::string> cert = read_file(o.tls_cert_file, "TLS certificate");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = read_file(o.tls_key_file, "TLS key");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

ApiServer::ApiServer(std::unique_ptr<JamService> service, std::unique_ptr<grpc::Server> server,
                     int port, bool tls)
    : service_(std::move(service)), server_(std::move(server)), port_(port), tls_(tls) {}

ApiServer::~ApiServer() { shutdown(absl::ZeroDuration()); }

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::start(const ServerOptions& options,
                                                            SessionRegistry* jams,
                                                            JamMedia* media) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds = credentials(options);
  if (!creds.ok()) return creds.status();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  auto service = std::make_unique<JamService>(jams, options.backend, media);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen_address, *creds, &port);
  builder.RegisterService(service.get());
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  builder.SetMaxSendMessageSize(options.max_send_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreamsPerConnection);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on '", options.listen_address,
                     "': the port is in use or the address is not host:port of this machine"));
  }
  const bool tls = !options.tls_cert_file.empty();
  return std::unique_ptr<ApiServer>(
      new ApiServer(std::move(service), std::move(server), port, tls));
}

void ApiServer::shutdown(absl::Duration grace) {
  if (stopped_) return;
  stopped_ = true;
  // Load balancers and probes see NOT_SERVING while the streams close.
  if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(false);
  }
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
}

}  // namespace jamd::api
