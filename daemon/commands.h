// The jamd subcommands: each takes its arguments (after the subcommand's name) and returns the
// process exit status. One file per command in daemon/commands/.
#pragma once

#include <span>
#include <string_view>

namespace jamd {

struct Command {
  std::string_view name;
  std::string_view summary;  // one line for `jamd --help`
  int (*run)(std::span<const char* const> args);
};

// Every command jamd knows, in the order `jamd --help` lists them.
std::span<const Command> all_commands();

}  // namespace jamd
