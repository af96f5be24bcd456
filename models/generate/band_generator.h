// BandGenerator: one jam's band, generated bar by bar from a Backend stream under the grammar,
// the jam's controls and an optional forced chord plan, with commit / rollback for steering.
// generate_step() advances many generators with one batched Backend::decode.
//
//   auto engine = create_backend(BackendKind::kAuto, weights, {});           // shared by jams
//   BandGeneratorOptions options{.seed = 7, .bias = {}};
//   auto band = BandGenerator::create(*engine->backend, options);             // per jam
//   BandControls controls;                                                     // tempo, key, ...
//   controls.key = 0;                                                          // C major
//   (*band)->set_controls(controls);
//   (*band)->force_chords(/*bar=*/0, {{0, 0, ChordQuality::kMaj}});            // optional
//   (*band)->commit();                                                         // steering point
//   GenerationBatch batch(engine->backend->config().n_vocab);
//   BandGenerator* jams[] = {band->get()};
//   (*band)->request_bars(4);                                                  // up to bar 4
//   absl::Status s = generate_until_done(jams, batch);                         // batched steps
//   (*band)->append_human_bar(human_tokens);    // encode_part_block(..., Role::kHuman)
//   (*band)->rollback();                        // back to the commit, regenerate after a change
//   (*band)->set_committed(/*bar=*/5, parts);   // a regenerated bar keeps what already sounds
//   (*band)->commit_after_bar(4);               // bar 4 settled, bar 5 (speculative) kept
//
// Thread safety: a generator, its Backend stream and a GenerationBatch belong to the conductor
// thread (// thread: conductor for every method). Weights are shared and immutable.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "models/engine/backend.h"
#include "models/sampling/sampler.h"
#include "models/tokenizer/grammar.h"
#include "models/tokenizer/score.h"
#include "models/vocab/vocabulary.h"

namespace jamd::models {

class BandGenerator;
class GenerationBatch;
absl::StatusOr<int> generate_step(std::span<BandGenerator* const> generators,
                                  GenerationBatch& batch);

// The steering of the next bars. Controls use the grammar's kFree (the model chooses) and
// kAnyClass (the "_any" token); any other value forces that class.
struct BandControls {
  double tempo_bpm = 120.0;  // <= 0: the model chooses the tempo class
  TimeSignature meter = {4, 4};
  int key = kFree;  // 0..23 (tonic + 12 * minor); also the key the pitch bias leans toward
  std::array<int, kNumBandRoles> density_class = {kFree, kFree, kFree, kFree, kFree};
  int energy_class = kFree;
  int valence_class = kFree;
  int style = kFree;
  // Disabled parts get empty blocks (the grammar's part mask). drums, bass, keys, pad, lead.
  std::array<bool, kNumBandRoles> part_enabled = {true, true, true, true, true};
  SamplingParams sampling = {.temperature = 1.0f, .top_k = 0, .top_p = 0.95f};
  // Replaces sampling.top_p in the drum block (temperature and top-k stay shared). A nucleus
  // cuts the drummer's less likely onsets, the ones that keep real bars from repeating: at 0.95
  // jamd-eval's drums were more regular than the very segments they were conditioned on (groove
  // consistency median 0.884-0.909 against 0.824); at 1 they match (docs/generation.md).
  float drums_top_p = 1.0f;
};

// Soft pitch bias for pitched parts (never drums), in nats added to a pitch's logit. The defaults
// are the weakest jamd-eval found that lift the chord-tone share above the real data's; stronger
// ones push pitch-class entropy under the real range (docs/generation.md has the sweep).
// Bass and keys carry the harmony; pad and lead keep their passing notes, which the real data's
// pitch-class entropy needs (jamd-eval, five seeds at full size: chord tones 0.941-0.951 against
// 0.907-0.922 with one -0.25 for every part, entropy 2.572-2.615; docs/generation.md).
struct PitchBias {
  float out_of_key = -0.5f;  // a pitch class outside the bar's key scale
  // A pitch class outside the chord sounding at the note's onset, for bass and keys.
  float non_chord_tone = -0.75f;
  // The same for pad and lead, in every bar.
  float non_chord_tone_pad_lead = 0.0f;
  // Replaces non_chord_tone for bass and keys in bars whose chords are forced (force_chords: the
  // musician's, heard or predicted), where following them matters more than the model's own
  // colour; 0: the same.
  float forced_non_chord_tone = 0.0f;
  // Added to the tones that tell a change, on the notes that answer it
  // (CommittedPart::answer_pitch_classes).
  float answer_tone = 0.0f;
};

// What already sounds of a bar that is generated again (a steering change or a heard chord in
// the middle of it). A part's block starts with `notes` (tokens of encode_part_block, without the
// part marker), fed to the model without sampling, and the model samples notes only at positions
// >= `resume_grid` (the commit point in the bar's grid; the bar's length keeps the whole block).
// `react_before_grid` (> resume_grid) makes the part answer the change at once: its first new
// note must start before that position (the next subdivision after the commit point, as a
// player reacts), its pitches and velocity still the model's under the new controls; 0: free.
// `answer_pitch_classes` (12 bits, C first) are the tones that tell the change (a new chord's
// tones the previous chord lacks): the pitches of that first note lean to them by
// PitchBias::answer_tone.
struct CommittedPart {
  std::vector<TokenId> notes;
  int resume_grid = 0;
  int react_before_grid = 0;
  uint16_t answer_pitch_classes = 0;
};
struct CommittedBar {
  // The chord block keeps the previous version's chords before it (unless force_chords() plans
  // the bar), and the header the previous version's free controls.
  int chords_resume_grid = 0;
  std::array<CommittedPart, kNumBandRoles> parts;
};

struct BandGeneratorOptions {
  uint64_t seed = 0;
  PitchBias bias;
};

// Scratch for batched steps: logits rows, decode steps, a sampler and a mask. One per conductor.
class GenerationBatch {
 public:
  explicit GenerationBatch(int32_t n_vocab);

 private:
  friend absl::StatusOr<int> generate_step(std::span<BandGenerator* const>, GenerationBatch&);
  friend class BandGenerator;
  int32_t n_vocab_;
  Sampler sampler_;
  TokenMask mask_;
  TokenMask scratch_;
  std::vector<float> logits_;
  std::vector<float> bias_;
  std::vector<DecodeStep> steps_;
  std::vector<BandGenerator*> active_;
};

class BandGenerator {
 public:
  // Opens a stream on `backend` (which must outlive the generator) and starts the song.
  // FAILED_PRECONDITION when the model was trained on another vocabulary; the backend's
  // RESOURCE_EXHAUSTED when no stream is free.
  // `context` (optional) is the song so far: tokens from Start (as encode() writes them, without
  // End) that end at a bar boundary; its bars count as generated bars, so request_bars(n) still
  // means "until bar n of the song". INVALID_ARGUMENT when the grammar refuses the context.
  static absl::StatusOr<std::unique_ptr<BandGenerator>> create(
      Backend& backend, const BandGeneratorOptions& options, std::span<const TokenId> context = {});
  ~BandGenerator();
  BandGenerator(const BandGenerator&) = delete;
  BandGenerator& operator=(const BandGenerator&) = delete;

  // Applies from the next bar that starts (a bar being generated keeps its controls).
  void set_controls(const BandControls& controls);
  const BandControls& controls() const { return controls_; }
  // Chords for bar `bar_index` (0 = the first bar generated); replaces any plan for that bar.
  // The first chord should sit at position 0 (the grammar fills "no chord" before it).
  void force_chords(int64_t bar_index, std::vector<ForcedChord> chords);
  void clear_forced_chords();

  // Asks for band bars up to (not including) bar `bar_end`: "generate until bar N". Each
  // generate_step() then adds one token until bars_generated() == bar_end.
  void request_bars(int64_t bar_end) { bar_end_ = bar_end; }
  bool done() const { return bars_generated_ >= bar_end_; }
  // Band bars completed: their blocks up to the human marker are in tokens().
  int64_t bars_generated() const { return bars_generated_; }

  // Appends the human's heard notes for the last generated bar (tokens of
  // encode_part_block(..., Role::kHuman)) after its Part_human marker. Call at most once per bar,
  // between bars. INVALID_ARGUMENT (nothing changed) when a token breaks the grammar.
  absl::Status append_human_bar(std::span<const TokenId> block);

  // What already sounds of band bar `bar_index`: applies when the bar's chord block or a part's
  // block starts after this call (a block that started keeps what it had). Replaces any earlier
  // one for the bar; forgotten once a commit passes the bar.
  void set_committed(int64_t bar_index, CommittedBar committed);

  // Marks the present as the point rollback() returns to.
  void commit();
  // Marks the end of band bar `bar_index` (its human marker) as the commit point, keeping the bars
  // generated after it: a bar the musician left empty needs no regeneration of the next one,
  // which was generated after an empty human block already. Requires bars_generated() >
  // bar_index >= committed_bars() - 1.
  void commit_after_bar(int64_t bar_index);
  int64_t committed_bars() const { return committed_.bars_generated; }
  // Forgets everything after the commit (tokens, grammar state, generator draws) so the bars can
  // be generated again under new controls. Opens and re-prefills a stream when the backend
  // cannot truncate that far.
  absl::Status rollback();

  // Every token of the song so far from `tokens_first_position()` (Start at position 0), up to
  // the last generated one. Old tokens are dropped once the song is far past the model's window.
  std::span<const TokenId> tokens() const { return tokens_; }
  int64_t tokens_first_position() const { return tokens_first_position_; }
  // Position in the song of the first token of band bar `bar_index`, or -1 when unknown.
  int64_t bar_start_position(int64_t bar_index) const;

  // Tokens added to the song (drawn, or forced by the grammar or a committed bar); of them, those
  // fed to the model in multi-token prefills instead of one decode step each; and how often a
  // re-prefill replaced a truncate.
  int64_t tokens_generated() const { return tokens_generated_; }
  int64_t tokens_prefilled() const { return tokens_prefilled_; }
  int64_t reprefills() const { return reprefills_; }

 private:
  friend absl::StatusOr<int> generate_step(std::span<BandGenerator* const>, GenerationBatch&);

  // What the pitch bias needs to know about the open bar.
  struct BarTracker {
    std::array<int16_t, kMaxBarGrid> chord_by_grid{};  // chord value sounding at each position
    int key = kAnyClass;
    int position_in_part = 0;
    int chord_position = 0;     // of the chord block's last Pos
    int resume_grid = 0;        // the open block samples positions from here (CommittedBar)
    int react_before_grid = 0;  // its first new note starts before this (0: free, or placed)
    uint16_t answer_pitch_classes = 0;  // for the notes that answer (CommittedPart)
    int answer_position = -1;           // the position they start at, once placed
    bool chords_forced = false;
  };
  // What a rollback restores.
  struct Snapshot {
    int64_t song_length = 0;  // tokens in the song
    int64_t bars_generated = 0;
    std::optional<Grammar> grammar;
    SampleRng rng{0};
    BarTracker bar;
  };
  Snapshot snapshot() const;
  static void assign(Snapshot& to, const Snapshot& from);  // Grammar cannot be assigned

  BandGenerator(Backend& backend, StreamId stream, const BandGeneratorOptions& options);
  int64_t song_length() const {
    return tokens_first_position_ + static_cast<int64_t>(tokens_.size());
  }
  GrammarConstraints constraints_for_bar(int64_t bar_index) const;
  // The tokens that may come next: the grammar's, less positions before the block's resume point,
  // and at least one note for a part that asks for notes.
  void allowed_next(TokenMask& mask, TokenMask& scratch) const;
  // Adds every token that needs no draw (Bar, a token the grammar alone allows, a committed
  // bar's tokens) until a draw is needed or the generator is done.
  void push_forced(GenerationBatch& batch);
  std::optional<TokenId> forced_next(GenerationBatch& batch);
  // Queues what a committed bar keeps when its chord block or a part's block opens.
  void open_block(int block_part);
  // Feeds the song's unfed tokens but the last; the last goes through the batched decode.
  absl::Status feed_pending();
  // The token after the one just fed: sampled under the grammar and the pitch bias.
  absl::StatusOr<TokenId> choose_next(std::span<const float> logits, GenerationBatch& batch);
  void fill_bias(std::span<const float> logits, const TokenMask& mask, std::span<float> bias) const;
  absl::Status push(TokenId token);  // grammar, bias trackers, song
  void trim_history();
  void forget_settled();  // what no rollback can return to
  absl::Status reprefill();

  Backend& backend_;
  StreamId stream_;
  BandGeneratorOptions options_;
  const Vocabulary& vocab_;
  BandControls controls_;
  std::map<int64_t, std::vector<ForcedChord>> chord_plan_;
  int64_t bar_end_ = 0;
  int64_t bars_generated_ = 0;
  // Invariant: the backend has consumed every token of the song but the last (the "pending"
  // token, fed by the next step, whose logits choose the token after it).
  std::vector<TokenId> tokens_;
  int64_t tokens_first_position_ = 0;
  std::map<int64_t, int64_t> bar_positions_;  // band bar -> song position of its Bar token
  // Song positions the backend has consumed; the tokens after it are fed by the next step.
  int64_t fed_length_ = 0;
  int64_t stream_origin_ = 0;       // the song position of the stream's first token
  std::optional<Grammar> grammar_;  // optional: Grammar cannot be assigned, only rebuilt
  SampleRng rng_;
  BarTracker bar_;
  Snapshot committed_;
  std::map<int64_t, Snapshot> bar_ends_;  // band bar -> the state after its human marker
  std::map<int64_t, CommittedBar> committed_bars_;
  std::map<int64_t, std::vector<TokenId>> previous_bars_;  // a rollback's discarded bars
  std::vector<TokenId> forced_;  // tokens a committed bar queued for the open block
  size_t forced_next_ = 0;
  int64_t tokens_generated_ = 0;
  int64_t tokens_prefilled_ = 0;
  int64_t reprefills_ = 0;
};

// One token for every generator that is not done(), all in one Backend::decode (they must share
// one backend). Returns how many generators stepped (0: all done).
absl::StatusOr<int> generate_step(std::span<BandGenerator* const> generators,
                                  GenerationBatch& batch);
// Steps until every generator is done().
absl::Status generate_until_done(std::span<BandGenerator* const> generators,
                                 GenerationBatch& batch);

// OK when `weights` were trained on this build's vocabulary (hash and size), else
// FAILED_PRECONDITION: "model was trained with another vocabulary".
absl::Status check_vocabulary(const WeightFile& weights);

// The pitch classes of a key's scale (major, or natural minor) and of a chord, as 12-bit masks.
uint16_t key_scale_mask(int key);
uint16_t chord_tone_mask(int chord_value);  // root * kNumChordQualities + quality; -1: none

}  // namespace jamd::models
