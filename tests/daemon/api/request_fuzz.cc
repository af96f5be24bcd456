// libFuzzer target for the API's request translation (daemon/api/convert.*, field paths and the
// mood lexicon behind them): any bytes, parsed as any request message, must translate or fail
// with a status, never crash; and whatever validates must survive to_proto -> from_proto.
// The first byte picks the message.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "daemon/api/convert.h"
#include "daemon/session/field_paths.h"

namespace {

std::vector<std::string> paths_of(const google::protobuf::FieldMask& mask) {
  return std::vector<std::string>(mask.paths().begin(), mask.paths().end());
}

// Steer's translation as JamService::Steer does it, then validation and the round trip.
void steer(const jam::v1::SteerRequest& req) {
  using namespace jamd;
  absl::StatusOr<std::vector<std::string>> leaves = expand_paths(paths_of(req.update_mask()));
  (void)api::to_grpc_status(leaves.status());
  if (!leaves.ok()) return;
  JamState values;
  absl::Status st = api::from_proto(req.state(), *leaves, &values);
  (void)api::to_grpc_status(st);
  if (!st.ok()) return;
  st = validate_fields(values, *leaves);
  (void)api::to_grpc_status(st);
  if (!st.ok()) return;
  JamState merged;
  copy_fields(values, *leaves, &merged);
  jam::v1::JamState out;
  api::to_proto(merged, &out);
  JamState back;
  if (!api::from_proto(out, all_leaf_paths(), &back).ok()) {
    std::fprintf(stderr, "a validated state does not translate back\n");
    std::abort();
  }
  for (const std::string& path : *leaves) {
    if (path != "mood" && !field_equal(merged, back, path)) {
      std::fprintf(stderr, "round trip changed %s\n", path.c_str());
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int which = data[0] % 4;
  const void* bytes = data + 1;
  const int n = static_cast<int>(size - 1);
  switch (which) {
    case 0: {
      jam::v1::SteerRequest req;
      if (req.ParseFromArray(bytes, n)) steer(req);
      break;
    }
    case 1: {
      jam::v1::LockFieldsRequest req;
      if (req.ParseFromArray(bytes, n)) {
        (void)jamd::api::to_grpc_status(jamd::expand_paths(paths_of(req.paths())).status());
      }
      break;
    }
    case 2: {
      jam::v1::CreateJamRequest req;
      if (req.ParseFromArray(bytes, n)) {
        jamd::JamState s;
        s.tempo_bpm = req.tempo_bpm();
        (void)jamd::validate_fields(s, {"tempo_bpm"});
      }
      break;
    }
    default: {
      // Whole states, every path named: the widest translation.
      jam::v1::JamState state;
      if (state.ParseFromArray(bytes, n)) {
        jam::v1::SteerRequest req;
        *req.mutable_state() = state;
        req.mutable_update_mask()->add_paths("parts");
        for (const std::string& p : jamd::all_leaf_paths()) req.mutable_update_mask()->add_paths(p);
        steer(req);
      }
      break;
    }
  }
  return 0;
}
