// jamd-prepare end to end on a few songs of each staged corpus: it writes three token files of
// this vocabulary whose songs all decode, the vocabulary names and the metadata, and leaves the
// GPL-3 Nottingham set out by default.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "models/data/token_file.h"
#include "models/tokenizer/tokenizer.h"

namespace jamd::models::data {
namespace {

namespace fs = std::filesystem;

TEST(JamdPrepare, WritesDecodableSplitsOfThisVocabulary) {
  const fs::path data = JAMD_SHARED_DATA_DIR;
  ASSERT_TRUE(fs::exists(data / "pop909") && fs::exists(data / "groove"))
      << "the staged corpora are missing: expected pop909/ and groove/ in " << data;
  char pattern[] = "/tmp/jamd_prepare_XXXXXX";
  const fs::path dir = mkdtemp(pattern);
  const std::string cmd = absl::StrCat(JAMD_PREPARE_PATH, " --data='", data.string(), "' --work='",
                                       (dir / "work").string(), "' --out='", (dir / "out").string(),
                                       "' --limit=30 --transpose=1");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;

  const Vocabulary& v = Vocabulary::get();
  int songs = 0;
  int human_notes = 0;
  for (const char* split : {"train", "validation", "test"}) {
    absl::StatusOr<TokenFile> file =
        read_token_file((dir / "out" / absl::StrCat(split, ".tok")).string());
    ASSERT_TRUE(file.ok()) << file.status();
    size_t begin = 0;
    uint32_t sequences = 0;
    for (size_t i = 0; i < file->tokens.size(); ++i) {
      if (file->tokens[i] != v.end()) continue;
      std::vector<TokenId> song(file->tokens.begin() + begin, file->tokens.begin() + i + 1);
      ASSERT_EQ(song.front(), v.start()) << split << " song " << sequences;
      absl::StatusOr<Score> score = decode(song);
      ASSERT_TRUE(score.ok()) << split << " song " << sequences << ": " << score.status();
      EXPECT_FALSE(score->notes.empty());
      for (const Note& n : score->notes) human_notes += n.role == Role::kHuman ? 1 : 0;
      ++sequences;
      begin = i + 1;
    }
    EXPECT_EQ(begin, file->tokens.size()) << split << " ends inside a song";
    EXPECT_EQ(sequences, file->n_sequences) << split;
    songs += static_cast<int>(sequences);
  }
  EXPECT_GT(songs, 60) << "30 POP909 songs (train ones three times) and 30 Groove files";
  EXPECT_GT(human_notes, 0) << "--human=auto gives some POP909 songs a human part";

  std::ifstream names(dir / "out" / "vocab.txt");
  std::string line;
  int n_names = 0;
  while (std::getline(names, line)) EXPECT_EQ(line, v.name(n_names++));
  EXPECT_EQ(n_names, v.size());
  std::stringstream meta;
  meta << std::ifstream(dir / "out" / "metadata.json").rdbuf();
  EXPECT_NE(meta.str().find(absl::StrFormat("\"vocab_hash\": \"%016x\"", v.hash())),
            std::string::npos)
      << meta.str();
  // The GPL-3 Nottingham set stays out unless asked for (the bundled model is permissive only).
  EXPECT_EQ(meta.str().find("nottingham"), std::string::npos) << meta.str();
  EXPECT_EQ(meta.str().find("GPL"), std::string::npos) << meta.str();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace jamd::models::data
