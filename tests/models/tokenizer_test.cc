// Encoding and decoding scores: round trips after quantization, the canonical forms, and the
// errors a user can act on.
#include "models/tokenizer/tokenizer.h"

#include <algorithm>
#include <string>

#include "gtest/gtest.h"

namespace jamd::models {
namespace {

Score two_bar_song() {
  Score s;
  s.ticks_per_beat = 480;
  BarInfo bar;
  bar.tempo_bpm = 97.0;
  bar.controls.density_class = {3, 2, kAnyClass, 0, 1};
  bar.controls.energy_class = 2;
  bar.controls.valence_class = 0;
  bar.controls.style = style_index("pop");
  bar.controls.key = 9 + 12;
  s.bars = {bar, bar};
  s.bars[1].time_signature = {3, 4};
  s.notes = {
      {.start_ticks = 0, .duration_ticks = 100, .pitch = 36, .velocity = 110, .role = Role::kDrums},
      {.start_ticks = 5, .duration_ticks = 960, .pitch = 45, .velocity = 80, .role = Role::kBass},
      {.start_ticks = 160, .duration_ticks = 300, .pitch = 64, .velocity = 70, .role = Role::kKeys},
      {.start_ticks = 160, .duration_ticks = 300, .pitch = 60, .velocity = 71, .role = Role::kKeys},
      {.start_ticks = 1900,
       .duration_ticks = 2000,
       .pitch = 72,
       .velocity = 90,
       .role = Role::kLead},
      {.start_ticks = 2400,
       .duration_ticks = 240,
       .pitch = 67,
       .velocity = 50,
       .role = Role::kHuman},
  };
  s.chords = {{.start_ticks = 0, .root_pitch_class = 9, .quality = ChordQuality::kMin},
              {.start_ticks = 1440, .root_pitch_class = 2, .quality = ChordQuality::kMin7},
              {.start_ticks = 2880, .root_pitch_class = 4, .quality = ChordQuality::kDom7}};
  return s;
}

TEST(Tokenizer, DecodeOfEncodeEqualsQuantize) {
  const Score song = two_bar_song();
  absl::StatusOr<std::vector<TokenId>> tokens = encode(song);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  absl::StatusOr<Score> back = decode(*tokens);
  ASSERT_TRUE(back.ok()) << back.status();
  absl::StatusOr<Score> expected = quantize(song);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(*back, *expected) << tokens_to_string(*tokens);
  EXPECT_EQ(back->notes.size(), song.notes.size());
}

TEST(Tokenizer, NotesStartingTogetherShareOnePositionToken) {
  absl::StatusOr<std::vector<TokenId>> tokens = encode(two_bar_song());
  ASSERT_TRUE(tokens.ok());
  const std::string text = tokens_to_string(*tokens);
  // Two keys notes at tick 160 (grid 4): one Pos_4, then both pitches in ascending order.
  EXPECT_NE(text.find("Part_keys Pos_4 Pitch_60 Vel_8 Dur_8 Pitch_64 Vel_8 Dur_8 Part_pad"),
            std::string::npos)
      << text;
}

TEST(Tokenizer, BandBlocksComeBeforeTheHumanBlock) {
  absl::StatusOr<std::vector<TokenId>> tokens = encode(two_bar_song());
  ASSERT_TRUE(tokens.ok());
  const std::string text = tokens_to_string(*tokens);
  EXPECT_NE(text.find("Bar Meter_4/4 Tempo_"), std::string::npos) << text;
  EXPECT_NE(text.find("Part_drums Pos_0 Pitch_36 Vel_13 Part_bass"), std::string::npos) << text;
  EXPECT_LT(text.find("Part_lead"), text.find("Part_human"));
}

TEST(Tokenizer, ChordSoundingAtTheBarLineIsRepeatedAndMergedBack) {
  Score s = two_bar_song();
  s.chords = {{.start_ticks = 960, .root_pitch_class = 0, .quality = ChordQuality::kMaj7}};
  absl::StatusOr<std::vector<TokenId>> tokens = encode(s);
  ASSERT_TRUE(tokens.ok());
  const std::string text = tokens_to_string(*tokens);
  EXPECT_NE(text.find("Key_A_min Chord_none Pos_24 Chord_C_maj7 Part_drums"), std::string::npos)
      << text;
  EXPECT_NE(text.find("Key_A_min Chord_C_maj7 Part_drums"), std::string::npos) << text;
  absl::StatusOr<Score> back = decode(*tokens);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->chords.size(), 1u);
  EXPECT_EQ(back->chords[0].start_ticks, 24);
}

TEST(Tokenizer, DuplicateNotesMergeKeepingTheLongest) {
  Score s = two_bar_song();
  s.notes = {
      {.start_ticks = 0, .duration_ticks = 120, .pitch = 60, .velocity = 60, .role = Role::kKeys},
      {.start_ticks = 10, .duration_ticks = 480, .pitch = 60, .velocity = 90, .role = Role::kKeys}};
  absl::StatusOr<Score> q = quantize(s);
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->notes.size(), 1u);
  EXPECT_EQ(q->notes[0].duration_ticks, 12);
}

TEST(Tokenizer, UnsupportedMetreIsRefusedWithTheList) {
  Score s = two_bar_song();
  s.bars[1].time_signature = {11, 8};
  absl::StatusOr<std::vector<TokenId>> tokens = encode(s);
  ASSERT_FALSE(tokens.ok());
  EXPECT_NE(std::string(tokens.status().message()).find("11/8"), std::string::npos);
  EXPECT_NE(std::string(tokens.status().message()).find("6/8"), std::string::npos);
}

TEST(Tokenizer, NoteAfterTheLastBarIsRefused) {
  Score s = two_bar_song();
  s.notes.push_back({.start_ticks = 480 * 7,
                     .duration_ticks = 10,
                     .pitch = 60,
                     .velocity = 60,
                     .role = Role::kKeys});
  EXPECT_EQ(encode(s).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(Tokenizer, DecodeRefusesAnIllegalSequenceNamingTheToken) {
  const Vocabulary& v = Vocabulary::get();
  const std::vector<TokenId> tokens = {v.bar(), v.pitch(60)};
  absl::StatusOr<Score> s = decode(tokens);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.status().message()).find("Pitch_60"), std::string::npos);
}

TEST(Tokenizer, DecodeRefusesASequenceCutInsideANote) {
  absl::StatusOr<std::vector<TokenId>> tokens = encode(two_bar_song());
  ASSERT_TRUE(tokens.ok());
  const std::string text = tokens_to_string(*tokens);
  const Vocabulary& v = Vocabulary::get();
  size_t cut = 0;
  while ((*tokens)[cut] != v.pitch(45)) ++cut;  // the bass note's pitch, before its velocity
  EXPECT_FALSE(decode(std::span(tokens->data(), cut + 1)).ok());
  EXPECT_TRUE(decode(std::span(tokens->data(), cut + 3)).ok());  // after its duration
}

TEST(Tokenizer, HumanBlockAppendsAfterTheBandAndDecodes) {
  absl::StatusOr<std::vector<TokenId>> song = encode(two_bar_song(), {.add_start_end = false});
  ASSERT_TRUE(song.ok());
  const Vocabulary& v = Vocabulary::get();
  // The live prefix: everything up to and including the second bar's Part_human marker.
  std::vector<TokenId> live(song->begin(),
                            std::find(song->rbegin(), song->rend(), v.part(Role::kHuman)).base());
  // What the musician played in bar 2 (3/4, starting at tick 1920), on their own clock.
  const std::vector<Note> heard = {
      {.start_ticks = 1920 + 240,
       .duration_ticks = 480,
       .pitch = 62,
       .velocity = 64,
       .role = Role::kLead},
      {.start_ticks = 1920 + 1440,
       .duration_ticks = 100,
       .pitch = 70,
       .velocity = 64,
       .role = Role::kLead}};  // the next bar's downbeat: not in this block
  absl::StatusOr<std::vector<TokenId>> block =
      encode_part_block(heard, 480, 1920, {3, 4}, Role::kHuman);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ(tokens_to_string(*block), "Pos_6 Pitch_62 Vel_7 Dur_12");
  live.insert(live.end(), block->begin(), block->end());
  absl::StatusOr<Score> score = decode(live);
  ASSERT_TRUE(score.ok()) << score.status();
  ASSERT_FALSE(score->notes.empty());
  const Note& last = score->notes.back();
  EXPECT_EQ(last.role, Role::kHuman);
  EXPECT_EQ(last.start_ticks, 48 + 6);
  EXPECT_EQ(last.pitch, 62);
}

}  // namespace
}  // namespace jamd::models
