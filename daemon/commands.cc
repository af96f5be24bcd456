// The table of jamd subcommands, in the order `jamd --help` lists them.
#include "daemon/commands.h"

namespace jamd {

int run_render(std::span<const char* const> args);    // daemon/commands/render.cc
int run_generate(std::span<const char* const> args);  // daemon/commands/generate.cc
int run_play(std::span<const char* const> args);      // daemon/commands/play.cc
int run_listen(std::span<const char* const> args);    // daemon/commands/listen.cc
int run_serve(std::span<const char* const> args);     // daemon/commands/serve.cc
int run_jam(std::span<const char* const> args);       // daemon/commands/jam.cc

std::span<const Command> all_commands() {
  static constexpr Command kCommands[] = {
      {"jam", "jam live on JACK: hear the musician, play the band around them, record it",
       &run_jam},
      {"render", "jam offline: a musician's MIDI or WAV take in, the band around it out",
       &run_render},
      {"generate", "generate a band with the model into a multi-track MIDI file", &run_generate},
      {"play", "play a MIDI file through the band's synth: to a WAV, or live on JACK", &run_play},
      {"listen", "hear a WAV or MIDI file: beats, tempo, notes, chords and key", &run_listen},
      {"serve", "serve jams over gRPC and the web page: create, join, steer, watch and listen",
       &run_serve},
  };
  return kCommands;
}

}  // namespace jamd
