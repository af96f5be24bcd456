// Turns jamctl's PATH=VALUE arguments into a jam.v1 JamState plus the field mask naming them,
// by protobuf reflection, so every field of the API can be steered from the command line.
//
//   jam::v1::SteerRequest req;
//   std::string error = jamctl::parse_steer_args({"tempo_bpm=120", "mood=dark:2,funky"}, &req);
//
// Thread safety: free functions; call from any thread.
#pragma once

#include <string>
#include <vector>

#include "jam/v1/jam.pb.h"

namespace jamctl {

// Fills req->state and req->update_mask. Returns "" or an error message for the user. Values:
// numbers, true/false, enum names without their prefix ("minor", "call_and_response"), note
// names for key_tonic ("D", "F#", "Bb", "auto" = -1), "auto" = -1 for density, energy and
// brightness, and mood as "WORDS[:WEIGHT],WORDS[:WEIGHT]" ("" clears your prompts).
std::string parse_steer_args(const std::vector<std::string>& args, jam::v1::SteerRequest* req);

// The field paths jamctl knows, for --help.
std::string steer_paths_help();

}  // namespace jamctl
