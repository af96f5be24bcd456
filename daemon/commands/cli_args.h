// Command-line values shared by the jamd commands: bounded numbers, band part lists, keys. Each
// returns false on a value it cannot take, so the command can print its own usage error.
//
//   double tempo = 0;
//   if (!cli::parse_number(argv[i], 30, 300, tempo)) return usage_error("bad --tempo");
//   if (!cli::parse_parts("drums,bass", state)) return usage_error("unknown part");
//
// Thread safety: plain functions.
#pragma once

#include <string_view>

#include "daemon/jam/jam_state.h"

namespace jamd::cli {

// The whole of `text` as a number in [min, max].
bool parse_number(const char* text, double min, double max, double& out);
// "drums,bass,keys": those parts on, every other part off.
bool parse_parts(std::string_view text, JamState& state);
// "C:maj", "F#:min": the key's tonic and scale.
bool parse_key(std::string_view text, JamState& state);

}  // namespace jamd::cli
