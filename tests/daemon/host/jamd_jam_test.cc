// The jamd binary's `jam` command against a real `jackd -d dummy`: it prints its ports and a
// status line per bar, records, stops at --seconds with exit 0; and each error a musician can
// meet (no server, the client name taken, a bad SoundFont, a bad model, an unwritable record
// directory) is one line on stderr and a non-zero exit.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "realtime/midi/midi_file.h"
#include "tests/realtime/jack/jack_server.h"

namespace jamd {
namespace {

using realtime::testing::CommandResult;
using realtime::testing::JackServer;
using realtime::testing::Probe;
using realtime::testing::run_command;

constexpr int kTimeoutS = 60;  // bounds a hung child; never a timing assertion

CommandResult jam(const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {JAMD_BINARY, "jam"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return run_command(argv, kTimeoutS);
}

int count_lines_starting(const std::string& text, const std::string& prefix) {
  int n = 0;
  size_t at = 0;
  while (at < text.size()) {
    if (text.compare(at, prefix.size(), prefix) == 0) ++n;
    const size_t next = text.find('\n', at);
    if (next == std::string::npos) break;
    at = next + 1;
  }
  return n;
}

TEST(JamdJamTest, PlaysOnJackPrintsBarsAndRecords) {
  auto server = JackServer::start(256);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string dir = ::testing::TempDir() + "jamd_jam_record_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  const CommandResult r = jam({"--jack", "--server", (*server)->name(), "--tempo", "240",
                               "--seconds", "4", "--record", dir});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* port :
       {"jamd:in_1", "jamd:in_2", "jamd:midi_in", "jamd:out_L", "jamd:out_R", "jamd:midi_out"}) {
    EXPECT_NE(r.output.find(port), std::string::npos) << port << "\n" << r.output;
  }
  EXPECT_GE(count_lines_starting(r.output, "bar "), 2) << r.output;
  EXPECT_NE(r.output.find("xruns"), std::string::npos) << r.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/mix.wav")) << r.output;
  auto midi = realtime::read_midi_file(dir + "/jam.mid");
  EXPECT_TRUE(midi.ok()) << midi.status();
  std::filesystem::remove_all(dir);
}

// Without --server the jam joins $JACK_DEFAULT_SERVER, and says so by that name.
TEST(JamdJamTest, NamesTheServerFromTheEnvironment) {
  auto server = JackServer::start(256);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string name = (*server)->name();
  ASSERT_EQ(::setenv("JACK_DEFAULT_SERVER", name.c_str(), 1), 0);
  const CommandResult r = jam({"--jack", "--seconds", "1"});
  ::unsetenv("JACK_DEFAULT_SERVER");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("on JACK server '" + name + "'"), std::string::npos) << r.output;
}

TEST(JamdJamTest, ErrorsAreOneLineAndNonZero) {
  auto server = JackServer::start(256);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string s = (*server)->name();
  const std::string missing = realtime::testing::unique_server_name("jamd_jam_none");
  Probe probe(s);  // holds the client name "probe"
  struct Case {
    std::vector<std::string> args;
    std::string expected;  // a word the message must name
  };
  const std::vector<Case> cases = {
      {{"--jack", "--server", missing, "--seconds", "1"}, missing},
      {{"--jack", "--server", s, "--client", "probe", "--seconds", "1"}, "probe"},
      {{"--jack", "--server", s, "--soundfont", "/nonexistent/x.sf2", "--seconds", "1"},
       "/nonexistent/x.sf2"},
      {{"--jack", "--server", s, "--model", "/nonexistent/band.jamd", "--seconds", "1"},
       "/nonexistent/band.jamd"},
      {{"--jack", "--server", s, "--record", "/proc/jamd/take", "--seconds", "1"},
       "/proc/jamd/take"},
  };
  for (const Case& c : cases) {
    const CommandResult r = jam(c.args);
    EXPECT_EQ(r.exit_code, 1) << c.expected << "\n" << r.output;
    EXPECT_NE(r.output.find(c.expected), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("jamd jam: "), std::string::npos) << r.output;
  }
  const CommandResult usage = jam({"--tempo", "9999"});
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
}

}  // namespace
}  // namespace jamd
