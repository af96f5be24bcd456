// jamd: the live music generation daemon. main() finds the subcommand and runs it.
#include <cstdio>
#include <cstring>
#include <span>
#include <string_view>

#include "daemon/commands.h"

namespace {

void print_help(std::FILE* out) {
  std::fprintf(out, "usage: jamd COMMAND [options]   (jamd COMMAND --help for its options)\n\n");
  std::fprintf(out, "commands:\n");
  for (const jamd::Command& c : jamd::all_commands()) {
    std::fprintf(out, "  %-10.*s %.*s\n", static_cast<int>(c.name.size()), c.name.data(),
                 static_cast<int>(c.summary.size()), c.summary.data());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_help(stderr);
    return 2;
  }
  const std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_help(stdout);
    return 0;
  }
  if (name == "--version") {
    std::printf("jamd 0.1.0\n");
    return 0;
  }
  for (const jamd::Command& c : jamd::all_commands()) {
    if (c.name == name) {
      return c.run(std::span<const char* const>(argv + 2, static_cast<size_t>(argc - 2)));
    }
  }
  std::fprintf(stderr, "jamd: unknown command '%s'; run 'jamd --help' for the list\n", argv[1]);
  return 2;
}
