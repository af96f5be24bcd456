// BandGenerator on the bundled model: every bar decodes, disabled parts stay silent, forced
// controls and chords appear, seeds are deterministic, rollback regenerates, human bars append,
// a committed bar is continued from its commit point, a settled bar keeps the next one.
#include "models/generate/band_generator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <tuple>
#include <vector>

#include "models/engine/backend_registry.h"
#include "models/engine/weight_file.h"
#include "models/tokenizer/tokenizer.h"

namespace jamd::models {
namespace {

std::shared_ptr<const WeightFile> bundled() {
  static auto weights = WeightFile::open(JAMD_SOURCE_DIR "/models/band.jamd");
  EXPECT_TRUE(weights.ok()) << weights.status();
  return *weights;
}

std::unique_ptr<Backend> cpu_backend(int32_t rollback_tokens = 256) {
  BackendOptions options;
  options.max_streams = 8;
  options.rollback_tokens = rollback_tokens;
  auto choice = create_backend(BackendKind::kCpu, bundled(), options);
  EXPECT_TRUE(choice.ok()) << choice.status();
  return std::move(choice->backend);
}

BandControls c_major_trio() {
  BandControls c;
  c.tempo_bpm = 100;
  c.key = 0;
  c.part_enabled = {true, true, true, false, false};
  return c;
}

std::unique_ptr<BandGenerator> make(Backend& backend, uint64_t seed, const BandControls& c) {
  BandGeneratorOptions options;
  options.seed = seed;
  auto g = BandGenerator::create(backend, options);
  EXPECT_TRUE(g.ok()) << g.status();
  (*g)->set_controls(c);
  return std::move(*g);
}

void run(BandGenerator& g, int64_t bar_end, Backend& backend) {
  g.request_bars(bar_end);
  GenerationBatch batch(backend.config().n_vocab);
  BandGenerator* jams[] = {&g};
  ASSERT_TRUE(generate_until_done(jams, batch).ok());
}

std::vector<TokenId> tokens_of(const BandGenerator& g) {
  return {g.tokens().begin(), g.tokens().end()};
}

TEST(BandGenerator, EveryBarDecodesAndDisabledPartsAreSilent) {
  auto backend = cpu_backend();
  auto g = make(*backend, 1, c_major_trio());
  run(*g, 6, *backend);
  EXPECT_EQ(g->bars_generated(), 6);
  for (int64_t b = 0; b < 6; ++b) {
    const int64_t begin = g->bar_start_position(b);
    const int64_t end = b + 1 < 6
                            ? g->bar_start_position(b + 1)
                            : g->tokens_first_position() + static_cast<int64_t>(g->tokens().size());
    auto bar = g->tokens().subspan(static_cast<size_t>(begin), static_cast<size_t>(end - begin));
    absl::StatusOr<Score> score = decode(bar);
    ASSERT_TRUE(score.ok()) << "bar " << b << ": " << score.status();
    for (const Note& n : score->notes) {
      EXPECT_NE(n.role, Role::kPad);
      EXPECT_NE(n.role, Role::kLead);
    }
  }
  absl::StatusOr<Score> song = decode(g->tokens());
  ASSERT_TRUE(song.ok());
  std::set<Role> roles;
  for (const Note& n : song->notes) roles.insert(n.role);
  EXPECT_TRUE(roles.contains(Role::kDrums) || roles.contains(Role::kBass) ||
              roles.contains(Role::kKeys));
}

TEST(BandGenerator, ForcedControlsAndChordsAreInEveryBar) {
  auto backend = cpu_backend();
  BandControls c = c_major_trio();
  c.density_class = {3, 2, 3, kFree, kFree};
  auto g = make(*backend, 2, c);
  g->force_chords(0, {{0, 9, ChordQuality::kMin}});
  g->force_chords(1, {{0, 5, ChordQuality::kMaj}, {24, 7, ChordQuality::kDom7}});
  run(*g, 2, *backend);
  absl::StatusOr<Score> song = decode(g->tokens());
  ASSERT_TRUE(song.ok()) << song.status();
  ASSERT_EQ(song->bars.size(), 2u);
  for (const BarInfo& bar : song->bars) {
    EXPECT_EQ(bar.controls.key, 0);
    EXPECT_EQ(bar.controls.density_class[0], 3);
    EXPECT_EQ(bar.controls.density_class[3], 0);  // disabled: forced silent
    EXPECT_EQ(tempo_class(bar.tempo_bpm), tempo_class(100));
  }
  const int64_t bar = bar_length_ticks({4, 4}, song->ticks_per_beat);
  const std::vector<ChordSpan> want = {{0, 9, ChordQuality::kMin},
                                       {bar, 5, ChordQuality::kMaj},
                                       {bar + 2 * song->ticks_per_beat, 7, ChordQuality::kDom7}};
  EXPECT_EQ(song->chords, want);
}

TEST(BandGenerator, SameSeedSameTokensOtherSeedOtherTokens) {
  auto backend = cpu_backend();
  auto a = make(*backend, 7, c_major_trio());
  auto b = make(*backend, 7, c_major_trio());
  auto c = make(*backend, 8, c_major_trio());
  // a and c batched together, b alone: the batch must not change a jam's music.
  a->request_bars(3);
  c->request_bars(3);
  GenerationBatch batch(backend->config().n_vocab);
  BandGenerator* jams[] = {a.get(), c.get()};
  ASSERT_TRUE(generate_until_done(jams, batch).ok());
  run(*b, 3, *backend);
  EXPECT_EQ(tokens_of(*a), tokens_of(*b));
  EXPECT_NE(tokens_of(*a), tokens_of(*c));
}

TEST(BandGenerator, RollbackRegeneratesFromTheCommit) {
  auto backend = cpu_backend();
  auto g = make(*backend, 3, c_major_trio());
  run(*g, 2, *backend);
  g->commit();
  const std::vector<TokenId> committed = tokens_of(*g);
  run(*g, 4, *backend);
  const std::vector<TokenId> first_take = tokens_of(*g);
  ASSERT_TRUE(g->rollback().ok());
  EXPECT_EQ(tokens_of(*g), committed);
  EXPECT_EQ(g->bars_generated(), 2);
  run(*g, 4, *backend);
  EXPECT_EQ(tokens_of(*g), first_take);  // same controls, same draws: the same music
  // A steering change after the rollback: the new bars follow it.
  ASSERT_TRUE(g->rollback().ok());
  BandControls minor = c_major_trio();
  minor.key = 21;  // A minor
  g->set_controls(minor);
  run(*g, 4, *backend);
  absl::StatusOr<Score> song = decode(g->tokens());
  ASSERT_TRUE(song.ok());
  EXPECT_EQ(song->bars[1].controls.key, 0);
  EXPECT_EQ(song->bars[2].controls.key, 21);
  EXPECT_EQ(song->bars[3].controls.key, 21);
}

TEST(BandGenerator, RollbackPastTheCacheReprefills) {
  auto backend = cpu_backend(/*rollback_tokens=*/8);
  auto g = make(*backend, 4, c_major_trio());
  run(*g, 1, *backend);
  g->commit();
  run(*g, 3, *backend);  // far more than 8 tokens past the commit
  ASSERT_TRUE(g->rollback().ok());
  EXPECT_EQ(g->reprefills(), 1);
  run(*g, 3, *backend);
  EXPECT_TRUE(decode(g->tokens()).ok());
}

TEST(BandGenerator, HumanBarsAppendAfterTheBand) {
  auto backend = cpu_backend();
  auto g = make(*backend, 5, c_major_trio());
  run(*g, 1, *backend);
  const std::vector<Note> heard = {{0, 12, 64, 90, Role::kHuman}, {12, 12, 67, 80, Role::kHuman}};
  auto block = encode_part_block(heard, kGridPerBeat, 0, {4, 4}, Role::kHuman);
  ASSERT_TRUE(block.ok()) << block.status();
  ASSERT_TRUE(g->append_human_bar(*block).ok());
  EXPECT_EQ(g->append_human_bar(*block).code(), absl::StatusCode::kFailedPrecondition);
  run(*g, 2, *backend);
  absl::StatusOr<Score> song = decode(g->tokens());
  ASSERT_TRUE(song.ok()) << song.status();
  int human = 0;
  for (const Note& n : song->notes) human += n.role == Role::kHuman;
  EXPECT_EQ(human, 2);
}

TEST(BandGenerator, BadHumanBlockIsRefusedUnchanged) {
  auto backend = cpu_backend();
  auto g = make(*backend, 6, c_major_trio());
  run(*g, 1, *backend);
  const std::vector<TokenId> before = tokens_of(*g);
  const Vocabulary& v = Vocabulary::get();
  const std::vector<TokenId> bad = {v.pitch(60)};  // a pitch without its position
  EXPECT_EQ(g->append_human_bar(bad).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tokens_of(*g), before);
}

TEST(BandGenerator, ContinuesAGivenContext) {
  auto backend = cpu_backend();
  auto first = make(*backend, 9, c_major_trio());
  run(*first, 2, *backend);
  const std::vector<TokenId> context = tokens_of(*first);
  auto g = BandGenerator::create(*backend, BandGeneratorOptions{.seed = 10, .bias = {}}, context);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ((*g)->bars_generated(), 2);
  (*g)->set_controls(c_major_trio());
  run(**g, 4, *backend);  // "until bar 4" of the song: two new bars
  const std::vector<TokenId> song = tokens_of(**g);
  ASSERT_GT(song.size(), context.size());
  EXPECT_TRUE(std::equal(context.begin(), context.end(), song.begin()));
  absl::StatusOr<Score> score = decode(song);
  ASSERT_TRUE(score.ok()) << score.status();
  EXPECT_EQ(score->bars.size(), 4u);
}

TEST(BandGenerator, ContextCutInsideABarIsRefused) {
  auto backend = cpu_backend();
  auto first = make(*backend, 9, c_major_trio());
  run(*first, 1, *backend);
  const std::vector<TokenId> cut(first->tokens().begin(), first->tokens().begin() + 5);
  auto g = BandGenerator::create(*backend, BandGeneratorOptions{.seed = 1, .bias = {}}, cut);
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
}

// The tokens of band bar `bar` (from its Bar token to the next bar's, or the end).
std::vector<TokenId> bar_tokens(const BandGenerator& g, int64_t bar) {
  const int64_t first = g.tokens_first_position();
  const int64_t begin = g.bar_start_position(bar);
  const int64_t next = g.bar_start_position(bar + 1);
  const int64_t end = next > begin ? next : first + static_cast<int64_t>(g.tokens().size());
  return {g.tokens().begin() + (begin - first), g.tokens().begin() + (end - first)};
}

Score decoded(std::span<const TokenId> bar) {
  absl::StatusOr<Score> score = decode(bar);
  EXPECT_TRUE(score.ok()) << score.status();
  return score.ok() ? *score : Score{};
}

// Steps (decode calls) until band bar `bar` has a note position at or after `grid` in its drums
// block, the first part the model writes; then generates the bar to its end.
int steps_to_first_drum_note_from(BandGenerator& g, int64_t bar, int grid, Backend& backend) {
  const Vocabulary& v = Vocabulary::get();
  GenerationBatch batch(backend.config().n_vocab);
  BandGenerator* jams[] = {&g};
  g.request_bars(bar + 1);
  int steps = 0;
  for (bool found = false; !found && !g.done(); ++steps) {
    EXPECT_TRUE(generate_step(jams, batch).ok());
    bool in_drums = false;
    for (const TokenId t : bar_tokens(g, bar)) {
      const TokenInfo& info = v.info(t);
      if (info.kind == TokenKind::kPart) in_drums = info.role == static_cast<int>(Role::kDrums);
      found = found || (in_drums && info.kind == TokenKind::kPosition && info.value >= grid);
    }
  }
  EXPECT_TRUE(generate_until_done(jams, batch).ok());
  return steps;
}

TEST(BandGenerator, CommittedBarContinuesFromItsCommitPoint) {
  auto backend = cpu_backend();
  auto g = make(*backend, 12, c_major_trio());
  run(*g, 1, *backend);
  g->commit();
  run(*g, 2, *backend);
  const Score first = decoded(bar_tokens(*g, 1));
  // Half the bar sounds: each part's notes before beat 3 are committed.
  constexpr int kResume = 2 * kGridPerBeat;
  CommittedBar committed;
  committed.chords_resume_grid = kResume;
  std::vector<Note> kept;
  for (int part = 0; part < 3; ++part) {
    std::vector<Note> notes;
    for (const Note& n : first.notes) {
      if (static_cast<int>(n.role) == part && n.start_ticks < kResume) notes.push_back(n);
    }
    auto block = encode_part_block(notes, kGridPerBeat, 0, {4, 4}, static_cast<Role>(part));
    ASSERT_TRUE(block.ok()) << block.status();
    committed.parts[static_cast<size_t>(part)] = {*block, kResume};
    kept.insert(kept.end(), notes.begin(), notes.end());
  }
  ASSERT_FALSE(kept.empty());
  // Steered: denser drums from the commit point on.
  BandControls denser = c_major_trio();
  denser.density_class = {5, 3, 4, kFree, kFree};
  ASSERT_TRUE(g->rollback().ok());
  g->set_controls(denser);
  const int64_t prefilled_before = g->tokens_prefilled();
  const int fresh_steps = steps_to_first_drum_note_from(*g, 1, kResume, *backend);
  const Score fresh = decoded(bar_tokens(*g, 1));  // the version the committed one replaces
  ASSERT_TRUE(g->rollback().ok());
  g->set_committed(1, committed);
  const int committed_steps = steps_to_first_drum_note_from(*g, 1, kResume, *backend);
  std::printf(
      "  [commit point] decode steps to the first drum note at beat 3: %d from the bar "
      "start, %d with the committed half bar prefilled\n",
      fresh_steps, committed_steps);
  EXPECT_LE(committed_steps, 4);  // the prefill, the header's free control, the position
  EXPECT_LT(committed_steps, fresh_steps);
  EXPECT_GT(g->tokens_prefilled() - prefilled_before, static_cast<int64_t>(kept.size()));

  const Score second = decoded(bar_tokens(*g, 1));
  std::vector<Note> before_resume;
  for (const Note& n : second.notes) {
    if (n.start_ticks < kResume) before_resume.push_back(n);
  }
  const auto order = [](const Note& a, const Note& b) {
    return std::tie(a.role, a.start_ticks, a.pitch) < std::tie(b.role, b.start_ticks, b.pitch);
  };
  std::sort(kept.begin(), kept.end(), order);
  std::sort(before_resume.begin(), before_resume.end(), order);
  EXPECT_EQ(before_resume, kept) << "the committed notes, and no new one before the commit point";
  ASSERT_FALSE(second.bars.empty());
  EXPECT_EQ(second.bars[0].controls.density_class[0], 5);  // the header has the new controls
  std::vector<ChordSpan> first_chords, second_chords;
  for (const ChordSpan& c : fresh.chords) {
    if (c.start_ticks < kResume) first_chords.push_back(c);
  }
  for (const ChordSpan& c : second.chords) {
    if (c.start_ticks < kResume) second_chords.push_back(c);
  }
  EXPECT_EQ(second_chords, first_chords) << "the chords already sounding stay";
  EXPECT_TRUE(decode(g->tokens()).ok());
}

// The first drum note at or after `grid` in band bar `bar` (-1: none).
int first_drum_position_from(const BandGenerator& g, int64_t bar, int grid) {
  for (const Note& n : decoded(bar_tokens(g, bar)).notes) {
    if (n.role == Role::kDrums && n.start_ticks >= grid) return static_cast<int>(n.start_ticks);
  }
  return -1;
}

// A sparse band regenerated from an off-beat commit point: with react_before_grid the drums'
// first new note falls within a 16th of it, seed after seed; without it, not always.
TEST(BandGenerator, AnsweringPartPlaysOnTheNextSubdivision) {
  constexpr int kResume = 2 * kGridPerBeat + 1;
  constexpr int kAnswerBefore = kResume + kGridPerBeat / 4;
  BandControls sparse = c_major_trio();
  sparse.density_class = {1, 1, 1, kFree, kFree};
  auto backend = cpu_backend();
  int free_outside = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    for (const bool answer : {false, true}) {
      auto g = make(*backend, seed, sparse);
      run(*g, 1, *backend);
      g->commit();
      run(*g, 2, *backend);
      ASSERT_TRUE(g->rollback().ok());
      CommittedBar committed;
      committed.chords_resume_grid = kResume;
      committed.parts[0] = {{}, kResume, answer ? kAnswerBefore : 0};
      g->set_committed(1, committed);
      run(*g, 2, *backend);
      const int first = first_drum_position_from(*g, 1, kResume);
      if (answer) {
        EXPECT_GE(first, kResume) << "seed " << seed;
        EXPECT_LT(first, kAnswerBefore) << "seed " << seed;
      } else {
        free_outside += first < kResume || first >= kAnswerBefore;
      }
    }
  }
  EXPECT_GT(free_outside, 0) << "the sparse drums always play within a 16th anyway: no test";
}

// The notes that answer a change lean to the tones given (here with a bias no model outweighs).
TEST(BandGenerator, AnswerNotesLeanToTheTonesThatTellTheChange) {
  constexpr int kResume = 2 * kGridPerBeat + 1;
  constexpr uint16_t kAnswer = (1u << 9);  // A
  auto backend = cpu_backend();
  BandGeneratorOptions options;
  options.seed = 4;
  options.bias.answer_tone = 20.0f;
  auto g = BandGenerator::create(*backend, options);
  ASSERT_TRUE(g.ok()) << g.status();
  (*g)->set_controls(c_major_trio());
  run(**g, 1, *backend);
  (*g)->commit();
  ASSERT_TRUE((*g)->rollback().ok());
  CommittedBar committed;
  committed.chords_resume_grid = kResume;
  committed.parts[1] = {{}, kResume, kResume + 3, kAnswer};
  committed.parts[2] = {{}, kResume, kResume + 3, kAnswer};
  (*g)->set_committed(1, committed);
  run(**g, 2, *backend);
  int answered = 0;
  for (const Role role : {Role::kBass, Role::kKeys}) {
    int first = -1;
    for (const Note& n : decoded(bar_tokens(**g, 1)).notes) {
      if (n.role != role || n.start_ticks < kResume) continue;
      if (first < 0) first = static_cast<int>(n.start_ticks);
      if (n.start_ticks != first) break;
      EXPECT_EQ(n.pitch % 12, 9) << "an answer note off the given tones";
      ++answered;
    }
    EXPECT_GE(first, kResume);
    EXPECT_LT(first, kResume + 3);
  }
  EXPECT_GE(answered, 2);
}

TEST(BandGenerator, CommitAfterABarKeepsTheNextBar) {
  auto backend = cpu_backend();
  auto g = make(*backend, 13, c_major_trio());
  run(*g, 1, *backend);
  g->commit();
  run(*g, 3, *backend);
  const std::vector<TokenId> three_bars = tokens_of(*g);
  const int64_t generated = g->tokens_generated();
  const int64_t bar_2_start = g->bar_start_position(2);
  g->commit_after_bar(1);  // bar 1 settled with an empty human block: bar 2 stays as it is
  EXPECT_EQ(g->committed_bars(), 2);
  EXPECT_EQ(tokens_of(*g), three_bars);
  run(*g, 3, *backend);
  EXPECT_EQ(g->tokens_generated(), generated);
  // A rollback returns to the end of bar 1, and the same draws give the same bar 2.
  ASSERT_TRUE(g->rollback().ok());
  EXPECT_EQ(g->bars_generated(), 2);
  EXPECT_EQ(g->tokens_first_position() + static_cast<int64_t>(g->tokens().size()), bar_2_start);
  run(*g, 3, *backend);
  EXPECT_EQ(tokens_of(*g), three_bars);
}

TEST(PitchSets, ScalesAndChordTones) {
  EXPECT_EQ(key_scale_mask(0), 0b101010110101);   // C major: C D E F G A B
  EXPECT_EQ(key_scale_mask(21), 0b101010110101);  // A minor: the same pitch classes
  EXPECT_EQ(chord_tone_mask(7 * kNumChordQualities + 2),
            (1 << 7) | (1 << 11) | (1 << 2) | (1 << 5));
  EXPECT_EQ(chord_tone_mask(-1), 0x0FFF);
}

}  // namespace
}  // namespace jamd::models
