// A real jamd API server on 127.0.0.1 (port 0 -> the chosen port) and helpers for clients.
#pragma once

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "daemon/api/api_server.h"
#include "jam/v1/jam.grpc.pb.h"

namespace jamd::api::testing {

inline SessionLimits test_limits() {
  SessionLimits limits;
  limits.steer_burst =
      10'000;  // concurrency tests steer in bursts; the rate limit has its own test
  return limits;
}

class Loopback {
 public:
  explicit Loopback(SessionLimits limits = test_limits(), ServerOptions options = {})
      : jams_(limits) {
    options.listen_address = "127.0.0.1:0";
    absl::StatusOr<std::unique_ptr<ApiServer>> server = ApiServer::start(options, &jams_);
    EXPECT_TRUE(server.ok()) << server.status();
    if (server.ok()) server_ = *std::move(server);
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", server_->port()); }
  std::unique_ptr<jam::v1::Jam::Stub> stub() const {
    return jam::v1::Jam::NewStub(
        grpc::CreateChannel(address(), grpc::InsecureChannelCredentials()));
  }
  SessionRegistry& jams() { return jams_; }
  ApiServer& server() { return *server_; }

 private:
  SessionRegistry jams_;
  std::unique_ptr<ApiServer> server_;
};

inline jam::v1::CreateJamResponse create(jam::v1::Jam::Stub& stub) {
  grpc::ClientContext ctx;
  jam::v1::CreateJamRequest req;
  jam::v1::CreateJamResponse res;
  grpc::Status st = stub.CreateJam(&ctx, req, &res);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return res;
}

inline jam::v1::JoinJamResponse join(jam::v1::Jam::Stub& stub, const std::string& token,
                                     const std::string& name) {
  grpc::ClientContext ctx;
  jam::v1::JoinJamRequest req;
  req.set_join_token(token);
  req.set_display_name(name);
  jam::v1::JoinJamResponse res;
  grpc::Status st = stub.JoinJam(&ctx, req, &res);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return res;
}

// Steers one path with the values in `state`.
inline grpc::Status steer(jam::v1::Jam::Stub& stub, const std::string& participant_token,
                          const jam::v1::JamState& state, const std::string& path,
                          jam::v1::SteerResponse* res = nullptr) {
  grpc::ClientContext ctx;
  jam::v1::SteerRequest req;
  req.set_participant_token(participant_token);
  *req.mutable_state() = state;
  req.mutable_update_mask()->add_paths(path);
  jam::v1::SteerResponse ignored;
  return stub.Steer(&ctx, req, res != nullptr ? res : &ignored);
}

inline jam::v1::JamState tempo(double bpm) {
  jam::v1::JamState s;
  s.set_tempo_bpm(bpm);
  return s;
}

}  // namespace jamd::api::testing
