// Data-preparation pieces without the corpora: chord labels, transposition, piano split and the
// token file format.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "models/data/corpora.h"
#include "models/data/token_file.h"

namespace jamd::models::data {
namespace {

TEST(HarteChord, LabelsMapToVocabularyQualities) {
  auto name = [](const char* label) {
    absl::StatusOr<ChordSpan> c = parse_harte_chord(label);
    return c.ok() ? chord_name(*c) : std::string("error");
  };
  EXPECT_EQ(name("C#:maj"), "Db:maj");
  EXPECT_EQ(name("Bb:min7"), "Bb:min7");
  EXPECT_EQ(name("G:maj/3"), "G:maj");
  EXPECT_EQ(name("E:7"), "E:7");
  EXPECT_EQ(name("A:sus4(b7)"), "A:maj");
  EXPECT_EQ(name("F#:hdim7"), "Gb:min7");
  EXPECT_EQ(name("B:dim7"), "B:dim");
  EXPECT_EQ(name("N"), "N");
  EXPECT_EQ(name("H:maj"), "error");
}

TEST(Transpose, MovesPitchesChordsAndKeyButNotDrums) {
  Score s;
  s.bars.resize(1);
  s.bars[0].controls.key = 21;  // A minor
  s.notes = {{0, 480, 60, 90, Role::kKeys}, {0, 480, 36, 90, Role::kDrums},
             {0, 480, 126, 90, Role::kLead}};
  s.chords = {{0, 11, ChordQuality::kMin}};
  const Score t = transpose(s, 3);
  ASSERT_EQ(t.notes.size(), 2u);  // 126 + 3 leaves the MIDI range
  EXPECT_EQ(t.notes[0].pitch, 63);
  EXPECT_EQ(t.notes[1].pitch, 36);
  EXPECT_EQ(t.chords[0].root_pitch_class, 2);
  EXPECT_EQ(t.bars[0].controls.key, 12);  // C minor
}

TEST(PianoSplit, LowestSoundingNoteBecomesBass) {
  Score s;
  s.ticks_per_beat = 480;
  s.bars.resize(1);
  s.notes = {{0, 1920, 36, 90, Role::kKeys},   // held bass
             {0, 480, 64, 90, Role::kKeys},
             {480, 480, 43, 90, Role::kKeys},  // above the held C2: keys
             {960, 480, 72, 90, Role::kLead}};
  split_piano_bass(&s);
  EXPECT_EQ(s.notes[0].role, Role::kBass);
  EXPECT_EQ(s.notes[1].role, Role::kKeys);
  EXPECT_EQ(s.notes[2].role, Role::kKeys);
  EXPECT_EQ(s.notes[3].role, Role::kLead);
}

TEST(TokenFile, WritesAndReadsBack) {
  const std::string path = testing::TempDir() + "/jamd_tokens.tok";
  const std::vector<uint16_t> tokens = {1, 3, 4, 480, 2};
  ASSERT_TRUE(write_token_file(path, tokens, 1).ok());
  absl::StatusOr<TokenFile> f = read_token_file(path);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->tokens, tokens);
  EXPECT_EQ(f->n_sequences, 1u);
  EXPECT_EQ(f->vocab_hash, Vocabulary::get().hash());
  std::filesystem::remove(path);
}

TEST(TokenFile, RefusesAnotherVocabulary) {
  const std::string path = testing::TempDir() + "/jamd_tokens_other.tok";
  ASSERT_TRUE(write_token_file(path, {1, 2}, 1).ok());
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(16);
    f.put('\x5a');  // damage the vocabulary hash
  }
  absl::StatusOr<TokenFile> f = read_token_file(path);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kFailedPrecondition);
  std::filesystem::remove(path);
}

TEST(TokenFile, RefusesATruncatedFile) {
  const std::string path = testing::TempDir() + "/jamd_tokens_cut.tok";
  ASSERT_TRUE(write_token_file(path, {1, 2, 3, 4}, 1).ok());
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 3);
  EXPECT_EQ(read_token_file(path).status().code(), absl::StatusCode::kDataLoss);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace jamd::models::data
