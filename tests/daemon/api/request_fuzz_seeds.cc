// Writes the request fuzzer's seed corpus: one valid message of each kind it reads (first byte:
// which message), so the fuzzer starts from requests that translate. Usage: request_fuzz_seeds DIR
#include <cstdio>
#include <fstream>
#include <string>

#include "jam/v1/jam.pb.h"

namespace {

void write(const std::string& dir, const std::string& name, char which,
           const google::protobuf::Message& m) {
  std::ofstream out(dir + "/" + name, std::ios::binary);
  out << which << m.SerializeAsString();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: request_fuzz_seeds DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  jam::v1::SteerRequest steer;
  steer.set_participant_token("jt_00");
  steer.mutable_state()->set_tempo_bpm(120);
  steer.mutable_state()->set_scale(jam::v1::SCALE_MINOR);
  auto* mood = steer.mutable_state()->add_mood();
  mood->set_text("very dark");
  mood->set_weight(2);
  steer.mutable_state()->mutable_parts()->mutable_bass()->set_gm_program(33);
  for (const char* p : {"tempo_bpm", "scale", "mood", "parts.bass", "parts.keys.muted"}) {
    steer.mutable_update_mask()->add_paths(p);
  }
  write(dir, "steer", 0, steer);
  jam::v1::LockFieldsRequest lock;
  lock.mutable_paths()->add_paths("parts.drums");
  lock.set_locked(true);
  write(dir, "lock", 1, lock);
  jam::v1::CreateJamRequest create;
  create.set_tempo_bpm(96);
  write(dir, "create", 2, create);
  write(dir, "state", 3, steer.state());
  return 0;
}
