// `jamd listen` as a user runs it: a MIDI take in, JSON with beats, chords and key out; clear
// messages and exit codes for a file that is not audio, a missing file and no file at all.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/realtime/listen/takes.h"

namespace jamd::realtime {
namespace {

struct CommandRun {
  int status = -1;
  std::string out, err;
};

CommandRun jamd_listen(const std::string& args, const std::filesystem::path& dir) {
  const std::string out = (dir / "out.txt").string(), err = (dir / "err.txt").string();
  const std::string command =
      std::string(JAMD_BINARY) + " listen " + args + " > " + out + " 2> " + err;
  CommandRun r;
  const int status = std::system(command.c_str());
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::stringstream o, e;
  o << std::ifstream(out).rdbuf();
  e << std::ifstream(err).rdbuf();
  r.out = o.str(), r.err = e.str();
  return r;
}

class ListenCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("jamd_listen_cmd_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(ListenCommand, PrintsBeatsChordsAndKeyAsJson) {
  const testing::Take take = testing::make_take(
      {.style = testing::Style::kBlock, .tempo_bpm = 120, .bars = 8, .key_pc = 0}, false);
  const std::string mid = (dir_ / "take.mid").string();
  ASSERT_TRUE(write_midi_file(mid, take.midi).ok());
  const CommandRun r = jamd_listen(mid + " --json", dir_);
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* field : {"\"beats\": [", "\"tempo_bpm\": 12", "\"chord\": \"D:min7\"",
                            "\"chord\": \"G:7\"", "\"key\": {\"key\": \""}) {
    EXPECT_NE(r.out.find(field), std::string::npos) << field;
  }
}

TEST_F(ListenCommand, NotAudioFailsWithAMessageThatSaysWhatItTakes) {
  const std::string txt = (dir_ / "notes.txt").string();
  std::ofstream(txt) << "not a recording\n";
  const CommandRun r = jamd_listen(txt, dir_);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("is not audio"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("WAV"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST_F(ListenCommand, MissingFileAndNoArgumentsAreUsageErrors) {
  const CommandRun missing = jamd_listen((dir_ / "nothing.wav").string(), dir_);
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("cannot open"), std::string::npos) << missing.err;
  const CommandRun none = jamd_listen("", dir_);
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(none.err.find("usage: jamd listen"), std::string::npos) << none.err;
}

}  // namespace
}  // namespace jamd::realtime
