// Data-preparation pieces without the corpora: chord labels, transposition, piano split and the
// token file format.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "models/data/corpora.h"
#include "models/data/drum_pairing.h"
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
  s.notes = {{0, 480, 60, 90, Role::kKeys},
             {0, 480, 36, 90, Role::kDrums},
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
  s.notes = {{0, 1920, 36, 90, Role::kKeys},  // held bass
             {0, 480, 64, 90, Role::kKeys},
             {480, 480, 43, 90, Role::kKeys},  // above the held C2: keys
             {960, 480, 72, 90, Role::kLead}};
  split_piano_bass(&s);
  EXPECT_EQ(s.notes[0].role, Role::kBass);
  EXPECT_EQ(s.notes[1].role, Role::kKeys);
  EXPECT_EQ(s.notes[2].role, Role::kKeys);
  EXPECT_EQ(s.notes[3].role, Role::kLead);
}

// A drum performance of `bars` 4/4 bars at `bpm`, 96 ticks per beat: a kick on every beat.
Score drum_performance(int bars, double bpm) {
  Score s;
  s.ticks_per_beat = 96;
  for (int b = 0; b < bars; ++b) {
    s.bars.push_back(BarInfo{.time_signature = {4, 4}, .tempo_bpm = bpm, .controls = {}});
    for (int beat = 0; beat < 4; ++beat) {
      s.notes.push_back({(4 * b + beat) * 96, 24, 36 + b % 2, 100, Role::kDrums});
    }
  }
  return s;
}

GrooveEntry groove_entry(const std::string& name, const std::string& style,
                         const std::string& split) {
  GrooveEntry e;
  e.midi_filename = name;
  e.style = style;
  e.split = split;
  return e;
}

TEST(DrumPairing, PicksTheSplitMetreAndTempoAndFillsEveryPlayingBar) {
  DrumPool pool;
  EXPECT_TRUE(pool.add(drum_performance(2, 100), groove_entry("rock100", "rock", "train")));
  EXPECT_TRUE(pool.add(drum_performance(3, 150), groove_entry("funk150", "funk", "train")));
  EXPECT_TRUE(pool.add(drum_performance(2, 98), groove_entry("jazz98", "jazz", "test")));
  GrooveEntry fill = groove_entry("fill100", "rock", "train");
  fill.fill = true;
  EXPECT_FALSE(pool.add(drum_performance(1, 100), fill)) << "fills are not beats";

  Score song;  // 5 bars at 104 BPM, 480 ticks per beat; bar 2 is silent
  for (int b = 0; b < 5; ++b) {
    song.bars.push_back(BarInfo{.time_signature = {4, 4}, .tempo_bpm = 104, .controls = {}});
    if (b != 2) song.notes.push_back({b * 1920 + 480, 480, 60, 90, Role::kKeys});
  }
  const DrumPairing p = pair_drums(&song, pool, "train", "song", 1);
  ASSERT_TRUE(p.paired);
  EXPECT_EQ(p.tolerance, kPairTempoTolerances[0]);
  EXPECT_EQ(p.candidates, 1) << "funk150 is too fast, jazz98 is in another split";
  EXPECT_EQ(p.drum_bars, 4);
  EXPECT_EQ(p.style, "rock");
  // rock100 has 2 bars: bars 0, 1 from it, then (running out) it again for bars 3, 4.
  EXPECT_EQ(p.sources, (std::vector<std::string>{"rock100", "rock100"}));
  std::vector<int> drums_per_bar(5, 0);
  for (const Note& n : song.notes) {
    if (n.role != Role::kDrums) continue;
    EXPECT_EQ(n.start_ticks % 480, 0) << "beats scaled from 96 to 480 ticks per beat";
    ++drums_per_bar[static_cast<size_t>(n.start_ticks / 1920)];
  }
  EXPECT_EQ(drums_per_bar, (std::vector<int>{4, 4, 0, 4, 4}));
  EXPECT_EQ(song.bars[0].controls.style, style_index("rock"));
  EXPECT_GT(song.bars[0].controls.density_class[0], 0);
  EXPECT_EQ(song.bars[2].controls.density_class[0], 0);

  Score fast;
  fast.bars.push_back(BarInfo{.time_signature = {4, 4}, .tempo_bpm = 300, .controls = {}});
  fast.notes.push_back({0, 480, 60, 90, Role::kKeys});
  EXPECT_FALSE(pair_drums(&fast, pool, "train", "fast", 1).paired) << "no drummer that fast";
  Score waltz;
  waltz.bars.push_back(BarInfo{.time_signature = {3, 4}, .tempo_bpm = 100, .controls = {}});
  waltz.notes.push_back({0, 480, 60, 90, Role::kKeys});
  EXPECT_FALSE(pair_drums(&waltz, pool, "train", "waltz", 1).paired) << "no 3/4 drummer";
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
