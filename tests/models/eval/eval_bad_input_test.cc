// The "Bad input" for the model tools: missing or empty data folders, corrupt or foreign
// token files, a weight file from another vocabulary and unknown option values each stop
// jamd-eval / jamd-prepare with a message that names the problem and a non-zero status.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "models/data/token_file.h"
#include "models/engine/weight_file.h"
#include "models/vocab/vocabulary.h"

namespace jamd::models {
namespace {

namespace fs = std::filesystem;

struct ToolRun {
  int status = -1;
  std::string output;  // stdout and stderr
};

ToolRun run(const std::string& command) {
  ToolRun r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, p)) > 0) r.output.append(buffer, n);
  const int raw = pclose(p);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/jamd_eval_bad_XXXXXX";
    dir_ = mkdtemp(pattern);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // jamd-eval on the bundled model with the token files in `tokens`, a small run.
  ToolRun eval(const fs::path& tokens, const std::string& extra = "") const {
    return run(absl::StrCat(
        JAMD_EVAL_PATH, " --tokens='", tokens.string(), "' --out='", (dir_ / "out.json").string(),
        "' --model='", JAMD_SOURCE_DIR,
        "/models/band.jamd' --jams=2 --bars=2 --nll-sequences=1 --nll-tokens=8 ", extra));
  }
  // A folder whose three splits hold `tokens` (written with this build's vocabulary).
  fs::path token_folder(const std::string& name, const std::vector<int>& ids) const {
    const std::vector<uint16_t> tokens(ids.begin(), ids.end());
    const fs::path folder = dir_ / name;
    fs::create_directories(folder);
    for (const char* split : {"train", "validation", "test"}) {
      EXPECT_TRUE(
          data::write_token_file((folder / absl::StrCat(split, ".tok")).string(), tokens, 1).ok());
    }
    return folder;
  }
  fs::path dir_;
};

void expect_refused(const ToolRun& r, const std::string& says) {
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(says), std::string::npos) << "expected '" << says << "' in:\n"
                                                    << r.output;
  EXPECT_EQ(r.output.find("| metric |"), std::string::npos) << "no table from bad input:\n"
                                                            << r.output;
}

TEST_F(BadInput, EvalNamesAMissingOrEmptyTokenFolder) {
  expect_refused(eval(dir_ / "missing"), "cannot open " + (dir_ / "missing" / "test.tok").string());
  fs::create_directories(dir_ / "empty");
  expect_refused(eval(dir_ / "empty"), "cannot open " + (dir_ / "empty" / "test.tok").string());
}

TEST_F(BadInput, EvalRefusesATokenFileThatIsNotOne) {
  const fs::path folder = dir_ / "garbage";
  fs::create_directories(folder);
  std::ofstream(folder / "test.tok") << "these are not tokens";
  expect_refused(eval(folder), "not a jamd token file");
}

TEST_F(BadInput, EvalRefusesTokensOutsideTheVocabulary) {
  const Vocabulary& v = Vocabulary::get();
  const fs::path folder = token_folder("outside", {v.start(), v.bar(), 60000, v.end()});
  expect_refused(eval(folder), "token 60000 at index 2 is outside the");
}

TEST_F(BadInput, EvalRefusesASongThatDoesNotDecode) {
  const Vocabulary& v = Vocabulary::get();
  // In range, but a song cut inside its first bar's header.
  const fs::path folder = token_folder("broken", {v.start(), v.bar(), v.bar(), v.end()});
  expect_refused(eval(folder, "--generation-only"), "does not decode");
}

TEST_F(BadInput, EvalRefusesAModelOfAnotherVocabulary) {
  ModelConfig c;
  c.n_vocab = static_cast<int32_t>(Vocabulary::get().size());
  c.d_model = 16;
  c.n_layers = 1;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.d_ff = 16;
  c.attention_window = 16;
  auto bytes = random_weight_file(c, 1, /*vocab_hash=*/Vocabulary::get().hash() ^ 1);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  const fs::path model = dir_ / "other.jamd";
  ASSERT_TRUE(write_file_atomically(model.string(), *bytes).ok());
  const Vocabulary& v = Vocabulary::get();
  const fs::path folder = token_folder("tokens", {v.start(), v.end()});
  expect_refused(eval(folder, absl::StrCat("--model='", model.string(), "'")),
                 "another vocabulary");
}

TEST_F(BadInput, EvalNamesAnOptionValueItCannotUse) {
  // Few launches: a CUDA build loads cuBLAS at every start (~1 s, several under load).
  for (const char* option :
       {"--non-chord-bias=strong", "--out-of-key-bias=0.5", "--precision=fp8", "--seed=-3"}) {
    const ToolRun r = eval(dir_, option);
    EXPECT_EQ(r.status, 2) << option << "\n" << r.output;
    EXPECT_NE(r.output.find(absl::StrCat("cannot use ", option)), std::string::npos) << r.output;
  }
}

TEST_F(BadInput, PrepareRefusesAMissingOrEmptyDataFolder) {
  for (const char* name : {"missing", "empty"}) {
    if (std::string(name) == "empty") fs::create_directories(dir_ / name);
    const ToolRun r =
        run(absl::StrCat(JAMD_PREPARE_PATH, " --data='", (dir_ / name).string(), "' --work='",
                         (dir_ / "work").string(), "' --out='", (dir_ / "out").string(), "'"));
    expect_refused(r, "check --data (it should hold pop909/ and groove/)");
    EXPECT_FALSE(fs::exists(dir_ / "out" / "train.tok")) << name;
  }
}

TEST_F(BadInput, PrepareNamesAnOptionValueItCannotUse) {
  for (const char* option : {"--human=sometimes", "--drums=maybe", "--transpose=up"}) {
    const ToolRun r = run(absl::StrCat(JAMD_PREPARE_PATH, " --data=/nonexistent --work='",
                                       (dir_ / "work").string(), "' --out='",
                                       (dir_ / "out").string(), "' ", option));
    EXPECT_EQ(r.status, 2) << option << "\n" << r.output;
    EXPECT_NE(r.output.find(absl::StrCat("malformed argument '", option, "'")), std::string::npos)
        << r.output;
  }
}

}  // namespace
}  // namespace jamd::models
