// The table of jamd subcommands.
#include "daemon/commands.h"

namespace jamd {

int run_play(std::span<const char* const> args);  // daemon/commands/play.cc

std::span<const Command> all_commands() {
  static constexpr Command kCommands[] = {
      {"play", "play a MIDI file through the band's synth: to a WAV, or live on JACK", &run_play},
  };
  return kCommands;
}

}  // namespace jamd
