// jamctl, the real binary, against a real loopback server: the create/join/steer/watch flow,
// --json, and the messages for a missing daemon, a wrong token and a forbidden role.
#include <sndfile.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/daemon/api/music_loopback.h"

namespace jamd::api::testing {
namespace {

struct Ran {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

Ran jamctl(const std::string& args) {
  const std::string cmd = std::string(JAMCTL_PATH) + " " + args + " 2>&1";
  Ran r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The value after `label` on its line of jamctl's human output.
std::string field_after(const std::string& text, const std::string& label) {
  const size_t at = text.find(label);
  if (at == std::string::npos) return "";
  const size_t start = at + label.size();
  return text.substr(start, text.find('\n', start) - start);
}

TEST(Jamctl, CreateJoinSteerAndWatchThroughTheBinary) {
  Loopback server;
  const std::string s = "--server " + server.address() + " ";
  const Ran created = jamctl(s + "create --tempo 96");
  ASSERT_EQ(created.exit_code, 0) << created.output;
  const std::string player_token = field_after(created.output, "player token:   ");
  ASSERT_FALSE(player_token.empty()) << created.output;
  const Ran joined = jamctl(s + "join " + player_token + " --name ana");
  ASSERT_EQ(joined.exit_code, 0) << joined.output;
  EXPECT_NE(joined.output.find("as player"), std::string::npos) << joined.output;
  const std::string token = field_after(joined.output, "your token: ");
  const Ran steered = jamctl(s + "steer --token " + token +
                             " tempo_bpm=120 key_tonic=D scale=minor 'mood=dark:2,funky'");
  ASSERT_EQ(steered.exit_code, 0) << steered.output;
  EXPECT_NE(steered.output.find("120.0 BPM"), std::string::npos) << steered.output;
  EXPECT_NE(steered.output.find("D minor"), std::string::npos) << steered.output;
  const Ran watched = jamctl(s + "watch --count 1 --token " + token);
  ASSERT_EQ(watched.exit_code, 0) << watched.output;
  EXPECT_NE(watched.output.find("dark:2"), std::string::npos) << watched.output;
}

TEST(Jamctl, JsonOutputIsOneObjectPerLine) {
  Loopback server;
  const Ran created = jamctl("--json --server " + server.address() + " create");
  ASSERT_EQ(created.exit_code, 0) << created.output;
  EXPECT_EQ(created.output.front(), '{');
  EXPECT_NE(created.output.find("\"playerToken\""), std::string::npos) << created.output;
  const Ran status = jamctl("--json --server " + server.address() + " status");
  EXPECT_NE(status.output.find("\"nJams\":1"), std::string::npos) << status.output;
}

TEST(Jamctl, MissingDaemonSaysSo) {
  // Port 1 on loopback: nothing listens there (it would need root and a tcpmux service).
  const Ran r = jamctl("--server 127.0.0.1:1 status");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("cannot reach jamd at 127.0.0.1:1: is `jamd serve` running?"),
            std::string::npos)
      << r.output;
}

TEST(Jamctl, WrongTokenSaysSo) {
  Loopback server;
  const Ran r = jamctl("--server " + server.address() + " join jp_0000");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("the token was not accepted"), std::string::npos) << r.output;
}

TEST(Jamctl, ForbiddenRoleSaysSo) {
  Loopback server;
  auto stub = server.stub();
  const jam::v1::JoinJamResponse l = join(*stub, create(*stub).listener_token(), "lia");
  const Ran r = jamctl("--server " + server.address() + " steer --token " + l.participant_token() +
                       " tempo_bpm=100");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("your role does not allow this"), std::string::npos) << r.output;
}

TEST(Jamctl, ListenToASessionsOnlyJamdSaysItPlaysNoMusic) {
  Loopback server;
  auto stub = server.stub();
  const jam::v1::JoinJamResponse l = join(*stub, create(*stub).listener_token(), "lia");
  const Ran r = jamctl("--server " + server.address() + " listen --token " + l.participant_token());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("jamd cannot do this now: this jamd plays no music"), std::string::npos)
      << r.output;
}

TEST(Jamctl, ListenRecordsTheJamToAWavAndNotesPrintsNotes) {
  MusicLoopback server;
  auto stub = server.stub();
  grpc::ClientContext ctx;
  jam::v1::CreateJamResponse jam;
  ASSERT_TRUE(stub->CreateJam(&ctx, fast_jam(), &jam).ok());
  const jam::v1::JoinJamResponse l = join(*stub, jam.listener_token(), "lia");
  const std::string wav = ::testing::TempDir() + "/jamctl_listen.wav";
  const std::string s = "--server " + server.address() + " --token " + l.participant_token() + " ";
  const Ran r = jamctl(s + "listen --out " + wav + " --seconds 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("wrote 2.0 s to " + wav), std::string::npos) << r.output;
  SF_INFO info{};
  SNDFILE* f = sf_open(wav.c_str(), SFM_READ, &info);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(info.samplerate, 48000);
  EXPECT_EQ(info.channels, 2);
  EXPECT_EQ(info.frames, 2 * 48000);
  std::vector<float> pcm(static_cast<size_t>(info.frames) * 2);
  sf_readf_float(f, pcm.data(), info.frames);
  sf_close(f);
  float peak = 0;
  for (float v : pcm) peak = std::max(peak, std::abs(v));
  EXPECT_GT(peak, 1e-3f) << "the recording is silent";
  const Ran notes = jamctl(s + "--json notes --count 3");
  ASSERT_EQ(notes.exit_code, 0) << notes.output;
  EXPECT_NE(notes.output.find("\"source\":\"NOTE_SOURCE_GENERATED\""), std::string::npos)
      << notes.output;
}

TEST(Jamctl, ListenToAFileThatCannotBeWrittenIsAUsageError) {
  MusicLoopback server;
  auto stub = server.stub();
  const jam::v1::JoinJamResponse l = join(*stub, create(*stub).listener_token(), "lia");
  const Ran r = jamctl("--server " + server.address() + " --token " + l.participant_token() +
                       " listen --out /nonexistent/dir/x.wav --seconds 1");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("cannot write '/nonexistent/dir/x.wav'"), std::string::npos) << r.output;
}

TEST(Jamctl, BadSteerArgumentsAreUsageErrors) {
  const Ran r = jamctl("--server 127.0.0.1:1 steer --token t scale=lydian");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("major, minor"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace jamd::api::testing
