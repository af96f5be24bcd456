// The table of jamd subcommands.
#include "daemon/commands.h"

namespace jamd {

int run_listen(std::span<const char* const> args);  // daemon/commands/listen.cc
int run_play(std::span<const char* const> args);    // daemon/commands/play.cc
int run_generate(std::span<const char* const> args);  // daemon/commands/generate.cc
int run_render(std::span<const char* const> args);    // daemon/commands/render.cc

int run_serve(std::span<const char* const> args);  // daemon/commands/serve.cc

std::span<const Command> all_commands() {
  static constexpr Command kCommands[] = {
      {"serve", "serve the jam.v1 gRPC API: create, join, steer and watch jams", &run_serve},
      {"play", "play a MIDI file through the band's synth: to a WAV, or live on JACK", &run_play},
      {"generate", "generate a band with the model into a multi-track MIDI file", &run_generate},
      {"render", "jam offline: a musician's MIDI file in, the band around it out (WAV, MIDI)",
       &run_render},
      {"listen", "hear a WAV or MIDI file: beats, tempo, notes, chords and key", &run_listen},
  };
  return kCommands;
}

}  // namespace jamd
