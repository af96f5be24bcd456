// Translation between jam.v1 protobuf messages and the session layer's plain C++ types, and the
// one place where absl::Status becomes grpc::Status.
//
//   jamd::JamState s;  absl::Status st = jamd::api::from_proto(req.state(), paths, &s);
//   jam::v1::JamEvent out;  jamd::api::to_proto(event, &out);
//   reactor->Finish(jamd::api::to_grpc_status(st));
//
// Thread safety: free functions; call from any thread.
#pragma once

#include <grpcpp/support/status.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "daemon/jam/jam_state.h"
#include "daemon/session/session_types.h"
#include "jam/v1/jam.pb.h"

namespace jamd::api {

// The only Status -> grpc::Status conversion: same code, same message.
grpc::Status to_grpc_status(const absl::Status& status);

void to_proto(const JamState& in, jam::v1::JamState* out);
void to_proto(const Participant& in, jam::v1::Participant* out);
void to_proto(const JamEvent& in, jam::v1::JamEvent* out);
jam::v1::Role to_proto(Role role);

// Reads the fields named by leaf paths (field_paths.h) into `out`; enums left UNSPECIFIED on a
// named path are INVALID_ARGUMENT. Other fields of `out` keep their value.
absl::Status from_proto(const jam::v1::JamState& in, const std::vector<std::string>& leaf_paths,
                        JamState* out);

}  // namespace jamd::api
