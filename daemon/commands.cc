// The table of jamd subcommands.
#include "daemon/commands.h"

#include <array>

namespace jamd {

std::span<const Command> all_commands() {
  static constexpr std::array<Command, 0> kCommands{};
  return kCommands;
}

}  // namespace jamd
