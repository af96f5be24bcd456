// What jamctl prints: one-line human summaries of states and events, JSON when asked, and
// error messages that say what to do.
//
//   std::puts(jamctl::describe_event(event).c_str());
//   std::fprintf(stderr, "%s\n", jamctl::explain_error(status, "127.0.0.1:50051").c_str());
//
// Thread safety: free functions; call from any thread.
#pragma once

#include <grpcpp/support/status.h>

#include <string>

#include "jam/v1/jam.pb.h"

namespace jamctl {

std::string describe_state(const jam::v1::JamState& state);  // "120 BPM 4/4, D minor, ..."
std::string describe_event(const jam::v1::JamEvent& event);  // "#12 ana (p2) steered ..."
std::string role_name(jam::v1::Role role);                   // "host", "player", "listener"

// The message as one line of JSON (camelCase field names, as proto3 JSON).
std::string to_json(const google::protobuf::Message& message);

// A message for a failed call to jamd at `server`: unreachable, wrong token, role forbids, ...
std::string explain_error(const grpc::Status& status, const std::string& server);

}  // namespace jamctl
