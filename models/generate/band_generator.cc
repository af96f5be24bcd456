// BandGenerator: the bar-by-bar loop over a backend stream (forced and sampled tokens, the pitch
// bias toward key and chord), commit / rollback, and the batched step over many generators.
#include "models/generate/band_generator.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "models/tokenizer/tokenizer.h"

namespace jamd::models {
namespace {

// The song's token history is trimmed once it holds this many tokens (about 650 bars): a
// rollback or re-prefill needs only the model's window before the commit.
constexpr size_t kHistoryTrimTokens = size_t{1} << 16;

bool is_pitched_part(int part) {
  return part >= static_cast<int>(Role::kBass) && part <= static_cast<int>(Role::kLead);
}

// log(sum(exp(x))) over the allowed pitch tokens, with `bias` added when given.
double pitch_logsumexp(std::span<const float> logits, const TokenMask& mask,
                       std::span<const float> bias, TokenId first_pitch) {
  double top = -std::numeric_limits<double>::infinity();
  for (int p = 0; p < 128; ++p) {
    const TokenId t = first_pitch + p;
    if (!mask.test(t)) continue;
    top = std::max(top, static_cast<double>(logits[t]) + (bias.empty() ? 0.0 : bias[t]));
  }
  if (!std::isfinite(top)) return top;
  double sum = 0.0;
  for (int p = 0; p < 128; ++p) {
    const TokenId t = first_pitch + p;
    if (!mask.test(t)) continue;
    sum += std::exp(static_cast<double>(logits[t]) + (bias.empty() ? 0.0 : bias[t]) - top);
  }
  return top + std::log(sum);
}

// Every Pos_k token: the first token of a note group.
const TokenMask& position_tokens() {
  static const TokenMask mask = [] {
    const Vocabulary& v = Vocabulary::get();
    TokenMask m(v.size());
    for (TokenId id = 0; id < v.size(); ++id) {
      if (v.info(id).kind == TokenKind::kPosition) m.set(id);
    }
    return m;
  }();
  return mask;
}

// The density class of `role` in the bar that `tokens` end in (kAnyClass when not given).
int bar_density(std::span<const TokenId> tokens, const Vocabulary& v, int role) {
  for (size_t i = tokens.size(); i-- > 0;) {
    const TokenInfo& info = v.info(tokens[i]);
    if (info.kind == TokenKind::kBar) break;
    if (info.kind == TokenKind::kDensity && info.role == role) return info.value;
  }
  return kAnyClass;
}

// Tokens of a bar's header: Bar, metre, tempo, five densities, energy, valence, style, key.
constexpr int64_t kHeaderTokens = 12;

// The chord block of a bar's tokens (from its Bar): the first chord, then the changes at grid
// positions before `before_grid`. Empty when the block is not complete in `bar`.
std::vector<TokenId> chords_before(std::span<const TokenId> bar, const Vocabulary& v,
                                   int before_grid) {
  std::vector<TokenId> out;
  for (size_t i = static_cast<size_t>(kHeaderTokens); i < bar.size(); ++i) {
    const TokenInfo& info = v.info(bar[i]);
    if (info.kind == TokenKind::kPart) return out;
    if (info.kind == TokenKind::kPosition) {
      if (info.value >= before_grid || i + 1 >= bar.size()) return out;
      out.push_back(bar[i]);
      out.push_back(bar[++i]);
    } else if (info.kind == TokenKind::kChord) {
      out.push_back(bar[i]);
    }
  }
  return {};  // the block never ended: no chords to keep
}

}  // namespace

uint16_t key_scale_mask(int key) {
  if (key < 0 || key >= kNumKeys) return 0x0FFF;
  static constexpr int kMajor[7] = {0, 2, 4, 5, 7, 9, 11};
  static constexpr int kMinor[7] = {0, 2, 3, 5, 7, 8, 10};  // natural minor
  const int tonic = key % 12;
  const int* steps = key < 12 ? kMajor : kMinor;
  uint16_t mask = 0;
  for (int i = 0; i < 7; ++i) mask |= static_cast<uint16_t>(1u << ((tonic + steps[i]) % 12));
  return mask;
}

uint16_t chord_tone_mask(int chord_value) {
  if (chord_value < 0) return 0x0FFF;
  // Intervals above the root for maj, min, 7, min7, maj7, dim (ChordQuality order).
  static constexpr uint16_t kShapes[kNumChordQualities] = {
      (1u << 0) | (1u << 4) | (1u << 7),
      (1u << 0) | (1u << 3) | (1u << 7),
      (1u << 0) | (1u << 4) | (1u << 7) | (1u << 10),
      (1u << 0) | (1u << 3) | (1u << 7) | (1u << 10),
      (1u << 0) | (1u << 4) | (1u << 7) | (1u << 11),
      (1u << 0) | (1u << 3) | (1u << 6)};
  const int root = chord_value / kNumChordQualities;
  const uint16_t shape = kShapes[chord_value % kNumChordQualities];
  return static_cast<uint16_t>(((shape << root) | (shape >> (12 - root))) & 0x0FFF);
}

absl::Status check_vocabulary(const WeightFile& weights) {
  const Vocabulary& vocab = Vocabulary::get();
  if (weights.vocab_hash() != vocab.hash() || weights.config().n_vocab != vocab.size()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: model was trained with another vocabulary (hash %016x, %d tokens; this jamd has "
        "%016x, %d tokens); retrain it on this vocabulary or use the bundled models/band.jamd",
        weights.source(), weights.vocab_hash(), weights.config().n_vocab, vocab.hash(),
        vocab.size()));
  }
  return absl::OkStatus();
}

GenerationBatch::GenerationBatch(int32_t n_vocab)
    : n_vocab_(n_vocab),
      sampler_(n_vocab),
      mask_(n_vocab),
      scratch_(n_vocab),
      bias_(static_cast<size_t>(n_vocab), 0.0f) {}

absl::StatusOr<std::unique_ptr<BandGenerator>> BandGenerator::create(
    Backend& backend, const BandGeneratorOptions& options, std::span<const TokenId> context) {
  const Vocabulary& vocab = Vocabulary::get();
  if (backend.config().n_vocab != vocab.size()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "model was trained with another vocabulary: it has ", backend.config().n_vocab,
        " tokens, this jamd has ", vocab.size(), "; retrain it or use the bundled model"));
  }
  if (!context.empty()) {
    Grammar trial;
    for (const TokenId t : context) {
      if (absl::Status s = trial.advance(t); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("generation context: ", s.message()));
      }
    }
    if (context.front() != vocab.start() || !trial.at_bar_boundary() ||
        trial.phase() == Grammar::Phase::kEnded) {
      return absl::InvalidArgumentError(
          "generation context: give whole bars from Start, without End (encode(score) less its "
          "last token, or another generator's tokens())");
    }
  }
  absl::StatusOr<StreamId> stream = backend.open_stream();
  if (!stream.ok()) return stream.status();
  std::unique_ptr<BandGenerator> generator(new BandGenerator(backend, *stream, options));
  const std::vector<TokenId> start = {vocab.start()};
  for (const TokenId t : context.empty() ? std::span<const TokenId>(start) : context) {
    const absl::Status pushed = generator->push(t);
    assert(pushed.ok());
    (void)pushed;
  }
  if (generator->tokens_.size() > 1) {
    if (absl::Status s = generator->reprefill(); !s.ok()) return s;
    generator->reprefills_ = 0;
  }
  generator->bar_ends_.clear();  // the context's bars are not the generator's to settle
  generator->bar_end_ = generator->bars_generated_;
  generator->commit();
  return generator;
}

BandGenerator::BandGenerator(Backend& backend, StreamId stream, const BandGeneratorOptions& options)
    : backend_(backend),
      stream_(stream),
      options_(options),
      vocab_(Vocabulary::get()),
      rng_(options.seed) {
  grammar_.emplace();
  bar_.chord_by_grid.fill(-1);
}

BandGenerator::~BandGenerator() { backend_.close_stream(stream_); }

void BandGenerator::set_controls(const BandControls& controls) {
  assert(meter_index(controls.meter) >= 0 && "BandControls::meter must be one of kMeters");
  controls_ = controls;
}

void BandGenerator::force_chords(int64_t bar_index, std::vector<ForcedChord> chords) {
  chord_plan_[bar_index] = std::move(chords);
}

void BandGenerator::clear_forced_chords() { chord_plan_.clear(); }

void BandGenerator::set_committed(int64_t bar_index, CommittedBar committed) {
  committed_bars_[bar_index] = std::move(committed);
}

int64_t BandGenerator::bar_start_position(int64_t bar_index) const {
  const auto it = bar_positions_.find(bar_index);
  return it == bar_positions_.end() ? -1 : it->second;
}

GrammarConstraints BandGenerator::constraints_for_bar(int64_t bar_index) const {
  GrammarConstraints c;
  for (int r = 0; r < kNumBandRoles; ++r) {
    c.part_enabled[r] = controls_.part_enabled[r];
    // A disabled part's density is left free so that the grammar forces it to 0.
    c.density_class[r] = controls_.part_enabled[r] ? controls_.density_class[r] : kFree;
  }
  c.part_enabled[static_cast<int>(Role::kHuman)] = true;  // heard bars are appended, never drawn
  c.meter = meter_index(controls_.meter);
  c.tempo_class = controls_.tempo_bpm > 0 ? tempo_class(controls_.tempo_bpm) : kFree;
  c.energy_class = controls_.energy_class;
  c.valence_class = controls_.valence_class;
  c.style = controls_.style;
  c.key = controls_.key;
  const auto plan = chord_plan_.find(bar_index);
  if (plan != chord_plan_.end()) c.chords = plan->second;
  return c;
}

void BandGenerator::fill_bias(std::span<const float> logits, const TokenMask& mask,
                              std::span<float> bias) const {
  std::fill(bias.begin(), bias.end(), 0.0f);
  const int part = grammar_->current_part();
  if (!is_pitched_part(part)) return;
  const TokenId first_pitch = vocab_.pitch(0);
  const uint16_t scale = key_scale_mask(bar_.key);
  const int position = std::clamp(bar_.position_in_part, 0, kMaxBarGrid - 1);
  const uint16_t tones = chord_tone_mask(bar_.chord_by_grid[static_cast<size_t>(position)]);
  // Bass and keys carry the harmony; pad and lead keep their passing notes (jamd-eval: a bias on
  // every pitched part pushes pitch-class entropy under the real range, docs/generation.md).
  const bool carries_harmony =
      part == static_cast<int>(Role::kBass) || part == static_cast<int>(Role::kKeys);
  float non_chord_tone = options_.bias.non_chord_tone_pad_lead;
  if (carries_harmony) {
    non_chord_tone = bar_.chords_forced && options_.bias.forced_non_chord_tone != 0.0f
                         ? options_.bias.forced_non_chord_tone
                         : options_.bias.non_chord_tone;
  }
  const uint16_t answer = bar_.answer_position >= 0 && bar_.answer_position == bar_.position_in_part
                              ? bar_.answer_pitch_classes
                              : uint16_t{0};
  bool any = false;
  for (int p = 0; p < 128; ++p) {
    const int pc = p % 12;
    float b = 0.0f;
    if (((scale >> pc) & 1u) == 0) b += options_.bias.out_of_key;
    if (((tones >> pc) & 1u) == 0) b += non_chord_tone;
    if (((answer >> pc) & 1u) != 0) b += options_.bias.answer_tone;
    bias[static_cast<size_t>(first_pitch + p)] = b;
    any = any || b != 0.0f;
  }
  if (!any) return;
  // The bias moves probability between pitches only: the chance that a note (rather than the
  // next position or part) comes next stays the model's, so density is left alone.
  const double before = pitch_logsumexp(logits, mask, {}, first_pitch);
  const double after = pitch_logsumexp(logits, mask, bias, first_pitch);
  if (!std::isfinite(before) || !std::isfinite(after)) return;
  const auto shift = static_cast<float>(before - after);
  for (int p = 0; p < 128; ++p) bias[static_cast<size_t>(first_pitch + p)] += shift;
}

void BandGenerator::allowed_next(TokenMask& mask, TokenMask& scratch) const {
  const Grammar& grammar = *grammar_;
  grammar.allowed(&mask);
  const Grammar::Phase phase = grammar.phase();
  if (bar_.resume_grid > 0) {
    // A committed bar: what lies before the resume point already sounds, so nothing new may start
    // there, neither a note at a later position than the last one fed nor a chord change.
    const bool in_chords = phase == Grammar::Phase::kChordBlock;
    const bool in_part = phase == Grammar::Phase::kPartBody;
    const int at = in_chords ? bar_.chord_position : bar_.position_in_part;
    if (in_chords || in_part) {
      // Keep everything but positions before the resume point (and pitches while the block's
      // last position lies before it). Ids: positions, then pitches, in the vocabulary's order.
      const TokenId first_position = vocab_.position(0);
      const TokenId first_pitch = vocab_.pitch(0);
      const TokenId after_positions = first_position + kMaxBarGrid;
      assert(first_pitch >= after_positions);
      const int resume = std::min(bar_.resume_grid, kMaxBarGrid);
      scratch.clear();
      scratch.set_range(0, first_position);
      scratch.set_range(first_position + resume, kMaxBarGrid - resume);
      if (in_part && at < bar_.resume_grid) {
        scratch.set_range(after_positions, first_pitch - after_positions);
        scratch.set_range(first_pitch + 128, scratch.size() - (first_pitch + 128));
      } else {
        scratch.set_range(after_positions, scratch.size() - after_positions);
      }
      mask.intersect(scratch);
    }
  }
  if (phase == Grammar::Phase::kPartBody && bar_.react_before_grid > 0) {
    // The part answers a change: its next note starts in [resume, react_before) when the bar
    // leaves room for it (else the grammar's choice stands).
    const TokenId first_position = vocab_.position(0);
    const int from = std::min(bar_.resume_grid, kMaxBarGrid);
    const int until = std::min(bar_.react_before_grid, kMaxBarGrid);
    scratch.clear();
    if (until > from) scratch.set_range(first_position + from, until - from);
    scratch.intersect(mask);
    if (scratch.count() > 0) mask = scratch;
  }
  if (phase == Grammar::Phase::kPartBody && !tokens_.empty() &&
      vocab_.info(tokens_.back()).kind == TokenKind::kPart &&
      bar_density(tokens_, vocab_, vocab_.info(tokens_.back()).role) > 0) {
    // A part whose bar asks for notes (its density token above 0) gets at least one: the model
    // can otherwise close the block of a part it rarely saw alone (keys with drums and bass off,
    // and no musician), however strongly its density was forced.
    TokenMask first_note = mask;
    first_note.intersect(position_tokens());
    if (first_note.count() > 0) mask = first_note;
  }
}

std::optional<TokenId> BandGenerator::forced_next(GenerationBatch& batch) {
  TokenMask& mask = batch.mask_;
  Grammar& grammar = *grammar_;
  if (grammar.at_bar_boundary()) {
    // The next band bar: its constraints apply from its Bar token on.
    grammar.set_constraints(constraints_for_bar(bars_generated_));
    return vocab_.bar();
  }
  if (forced_next_ < forced_.size()) {
    const TokenId t = forced_[forced_next_];
    if (grammar.allows(t)) {
      ++forced_next_;
      return t;
    }
    forced_.clear();  // refused (cannot happen for blocks checked when queued): sample instead
    forced_next_ = 0;
  }
  allowed_next(mask, batch.scratch_);
  if (mask.count() == 1) {
    const std::vector<uint64_t>& words = mask.words();
    for (size_t w = 0; w < words.size(); ++w) {
      if (words[w] != 0) return static_cast<TokenId>(w * 64 + std::countr_zero(words[w]));
    }
  }
  // A committed bar's header keeps the free controls its previous version drew.
  const auto previous = previous_bars_.find(bars_generated_);
  if (previous != previous_bars_.end() && committed_bars_.contains(bars_generated_)) {
    const int64_t offset = song_length() - bar_start_position(bars_generated_);
    if (offset > 0 && offset < kHeaderTokens &&
        offset < static_cast<int64_t>(previous->second.size())) {
      const TokenId t = previous->second[static_cast<size_t>(offset)];
      if (mask.test(t)) return t;
    }
  }
  return std::nullopt;
}

void BandGenerator::open_block(int block_part) {
  forced_.clear();
  forced_next_ = 0;
  bar_.resume_grid = 0;
  bar_.react_before_grid = 0;
  bar_.answer_pitch_classes = 0;
  bar_.answer_position = -1;
  const auto committed = committed_bars_.find(bars_generated_);
  if (committed == committed_bars_.end()) return;
  const CommittedBar& bar = committed->second;
  if (block_part < 0) {  // the chord block
    if (chord_plan_.contains(bars_generated_) || bar.chords_resume_grid <= 0) return;
    const auto previous = previous_bars_.find(bars_generated_);
    if (previous == previous_bars_.end()) return;
    forced_ = chords_before(previous->second, vocab_, bar.chords_resume_grid);
    if (!forced_.empty()) bar_.resume_grid = bar.chords_resume_grid;
    return;
  }
  if (block_part >= kNumBandRoles) return;
  const CommittedPart& part = bar.parts[static_cast<size_t>(block_part)];
  // The grammar may refuse the notes (the part was switched off, or its density forced to 0).
  Grammar trial = *grammar_;
  for (const TokenId t : part.notes) {
    if (!trial.advance(t).ok()) return;
  }
  forced_ = part.notes;
  bar_.resume_grid = part.resume_grid;
  bar_.react_before_grid = part.react_before_grid > part.resume_grid ? part.react_before_grid : 0;
  bar_.answer_pitch_classes = bar_.react_before_grid > 0 ? part.answer_pitch_classes : 0;
}

void BandGenerator::push_forced(GenerationBatch& batch) {
  while (!done()) {
    const std::optional<TokenId> next = forced_next(batch);
    if (!next) return;
    const absl::Status s = push(*next);
    assert(s.ok() && "a forced token the grammar allowed");
    (void)s;
    ++tokens_generated_;
  }
}

absl::Status BandGenerator::feed_pending() {
  const int64_t last = song_length() - 1;
  if (fed_length_ >= last) return absl::OkStatus();
  const auto unfed = std::span<const TokenId>(tokens_).subspan(
      static_cast<size_t>(fed_length_ - tokens_first_position_),
      static_cast<size_t>(last - fed_length_));
  if (absl::Status s = backend_.prefill(stream_, unfed, {}); !s.ok()) return s;
  tokens_prefilled_ += static_cast<int64_t>(unfed.size());
  fed_length_ = last;
  return absl::OkStatus();
}

absl::StatusOr<TokenId> BandGenerator::choose_next(std::span<const float> logits,
                                                   GenerationBatch& batch) {
  Grammar& grammar = *grammar_;
  TokenMask& mask = batch.mask_;
  allowed_next(mask, batch.scratch_);
  const int n_allowed = mask.count();
  if (n_allowed == 0) {
    return absl::InternalError(absl::StrCat(
        "generation: the grammar allows nothing after ",
        tokens_to_string(std::span(tokens_).last(std::min<size_t>(tokens_.size(), 16)))));
  }
  const bool pitch_allowed =
      grammar.phase() == Grammar::Phase::kPitch || grammar.phase() == Grammar::Phase::kPartBody;
  std::span<const float> bias;
  if (pitch_allowed && is_pitched_part(grammar.current_part())) {
    fill_bias(logits, mask, batch.bias_);
    bias = batch.bias_;
  }
  // The drummer's notes come from the whole distribution (BandControls::drums_top_p), but whether
  // the drums play the bar at all, when that is open (the block's first token may be the next
  // part's marker), keeps the shared nucleus: with free controls and no musician the whole
  // distribution let a silent band stay silent for bars.
  SamplingParams params = controls_.sampling;
  if (grammar.current_part() == static_cast<int>(Role::kDrums)) {
    const bool may_stay_silent =
        vocab_.info(tokens_.back()).kind == TokenKind::kPart && mask.test(vocab_.part(Role::kBass));
    if (!may_stay_silent) params.top_p = controls_.drums_top_p;
  }
  return batch.sampler_.sample(logits, params, &mask, bias, rng_);
}

absl::Status BandGenerator::push(TokenId token) {
  const Grammar::Phase before = grammar_->phase();
  if (absl::Status s = grammar_->advance(token); !s.ok()) return s;
  const TokenInfo& info = vocab_.info(token);
  switch (info.kind) {
    case TokenKind::kBar:
      bar_ = BarTracker{};
      bar_.chord_by_grid.fill(-1);
      bar_.chords_forced = chord_plan_.contains(bars_generated_);
      bar_positions_[bars_generated_] = song_length();
      break;
    case TokenKind::kKey:
      bar_.key = info.value;
      open_block(-1);  // the chord block follows the key
      break;
    case TokenKind::kChord: {
      const int from = before == Grammar::Phase::kFirstChord ? 0 : bar_.chord_position;
      std::fill(bar_.chord_by_grid.begin() + std::clamp(from, 0, kMaxBarGrid),
                bar_.chord_by_grid.end(), static_cast<int16_t>(info.value));
      break;
    }
    case TokenKind::kPosition:
      if (before == Grammar::Phase::kChordBlock) {
        bar_.chord_position = info.value;
      } else {
        bar_.position_in_part = info.value;
        if (bar_.react_before_grid > 0 && info.value >= bar_.resume_grid) {  // the answer
          bar_.react_before_grid = 0;
          bar_.answer_position = info.value;
        }
      }
      break;
    case TokenKind::kPart:
      bar_.position_in_part = 0;
      open_block(info.role);
      break;
    default:
      break;
  }
  tokens_.push_back(token);
  if (info.kind == TokenKind::kPart && info.role == static_cast<int>(Role::kHuman)) {
    ++bars_generated_;
    bar_ends_.erase(bars_generated_ - 1);
    bar_ends_.emplace(bars_generated_ - 1, snapshot());
  }
  return absl::OkStatus();
}

absl::Status BandGenerator::append_human_bar(std::span<const TokenId> block) {
  const TokenId human_marker = vocab_.part(Role::kHuman);
  if (tokens_.empty() || tokens_.back() != human_marker) {
    return absl::FailedPreconditionError(
        "append_human_bar: call it once after a generated bar, before the next bar starts");
  }
  Grammar trial = *grammar_;
  for (const TokenId t : block) {
    if (absl::Status s = trial.advance(t); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "append_human_bar: not a human block from encode_part_block: ", s.message()));
    }
  }
  if (block.empty()) return absl::OkStatus();
  for (const TokenId t : block) {
    const absl::Status s = push(t);
    assert(s.ok());
    (void)s;
  }
  // Feed the marker and all but the block's last token; the last stays pending.
  return feed_pending();
}

BandGenerator::Snapshot BandGenerator::snapshot() const {
  Snapshot snap;
  snap.song_length = song_length();
  snap.bars_generated = bars_generated_;
  snap.grammar.emplace(*grammar_);
  snap.rng = rng_;
  snap.bar = bar_;
  return snap;
}

void BandGenerator::assign(Snapshot& to, const Snapshot& from) {
  to.song_length = from.song_length;
  to.bars_generated = from.bars_generated;
  to.grammar.reset();
  to.grammar.emplace(*from.grammar);
  to.rng = from.rng;
  to.bar = from.bar;
}

void BandGenerator::commit() {
  assign(committed_, snapshot());
  forget_settled();
}

void BandGenerator::commit_after_bar(int64_t bar_index) {
  const auto end = bar_ends_.find(bar_index);
  assert(end != bar_ends_.end() && bars_generated_ > bar_index &&
         "commit_after_bar: the bar's human marker must be generated");
  assign(committed_, end->second);
  forget_settled();
}

void BandGenerator::forget_settled() {
  const int64_t bar = committed_.bars_generated;
  bar_ends_.erase(bar_ends_.begin(), bar_ends_.lower_bound(bar - 1));
  committed_bars_.erase(committed_bars_.begin(), committed_bars_.lower_bound(bar));
  previous_bars_.erase(previous_bars_.begin(), previous_bars_.lower_bound(bar));
}

absl::Status BandGenerator::rollback() {
  const int64_t keep = committed_.song_length;
  assert(keep > tokens_first_position_ && keep <= song_length());
  // A bar generated again keeps what its previous version drew where it already sounds (the
  // header's free controls, the chords before the commit point): remember the discarded bars
  // whose chord block is complete.
  for (auto it = bar_positions_.lower_bound(committed_.bars_generated); it != bar_positions_.end();
       ++it) {
    if (it->second < keep) continue;
    const auto next = bar_positions_.find(it->first + 1);
    const int64_t end = next == bar_positions_.end() ? song_length() : next->second;
    const auto bar = std::span<const TokenId>(tokens_).subspan(
        static_cast<size_t>(it->second - tokens_first_position_),
        static_cast<size_t>(end - it->second));
    if (!chords_before(bar, vocab_, kMaxBarGrid).empty()) {
      previous_bars_[it->first].assign(bar.begin(), bar.end());
    }
  }
  tokens_.resize(static_cast<size_t>(keep - tokens_first_position_));
  grammar_.reset();
  grammar_.emplace(*committed_.grammar);
  rng_ = committed_.rng;
  bar_ = committed_.bar;
  forced_.clear();
  forced_next_ = 0;
  bars_generated_ = committed_.bars_generated;
  bar_positions_.erase(bar_positions_.lower_bound(bars_generated_ + 1), bar_positions_.end());
  if (bar_positions_.contains(bars_generated_) && bar_positions_[bars_generated_] >= keep) {
    bar_positions_.erase(bars_generated_);
  }
  bar_ends_.erase(bar_ends_.lower_bound(bars_generated_), bar_ends_.end());
  if (fed_length_ <= keep - 1) return absl::OkStatus();  // the discarded tokens were never fed
  fed_length_ = keep - 1;
  const int64_t stream_position = fed_length_ - stream_origin_;
  const absl::Status s = stream_position < 0 ? absl::OutOfRangeError("before the stream")
                                             : backend_.truncate(stream_, stream_position);
  if (s.code() == absl::StatusCode::kOutOfRange) return reprefill();
  return s;
}

absl::Status BandGenerator::reprefill() {
  ++reprefills_;
  backend_.close_stream(stream_);
  absl::StatusOr<StreamId> stream = backend_.open_stream();
  if (!stream.ok()) return stream.status();
  stream_ = *stream;
  // Everything but the pending token, as far back as the model's window reaches.
  const size_t fed = tokens_.size() - 1;
  const size_t window = static_cast<size_t>(backend_.config().attention_window);
  const size_t from = fed > window ? fed - window : 0;
  stream_origin_ = tokens_first_position_ + static_cast<int64_t>(from);
  fed_length_ = tokens_first_position_ + static_cast<int64_t>(fed);
  return backend_.prefill(stream_, std::span<const TokenId>(tokens_).subspan(from, fed - from), {});
}

void BandGenerator::trim_history() {
  if (tokens_.size() < kHistoryTrimTokens) return;
  const int64_t window = backend_.config().attention_window;
  const int64_t keep_from = std::min(committed_.song_length, song_length()) - window - 1;
  const int64_t drop = keep_from - tokens_first_position_;
  if (drop < static_cast<int64_t>(kHistoryTrimTokens / 2)) return;
  tokens_.erase(tokens_.begin(), tokens_.begin() + drop);
  tokens_first_position_ += drop;
  bar_positions_.erase(bar_positions_.begin(), bar_positions_.lower_bound(bars_generated_ - 64));
}

absl::StatusOr<int> generate_step(std::span<BandGenerator* const> generators,
                                  GenerationBatch& batch) {
  batch.active_.clear();
  batch.steps_.clear();
  for (BandGenerator* g : generators) {
    if (g->done()) continue;
    // What needs no draw goes in first, fed in one prefill: a committed bar's notes reach the
    // point where the model must choose in one call, not one decode step per token.
    g->push_forced(batch);
    if (g->done()) continue;
    assert((batch.active_.empty() || &g->backend_ == &batch.active_[0]->backend_) &&
           "generate_step: every generator of a batch must use the same backend");
    if (absl::Status s = g->feed_pending(); !s.ok()) return s;
    batch.active_.push_back(g);
    batch.steps_.push_back(DecodeStep{g->stream_, g->tokens_.back()});
  }
  if (batch.active_.empty()) return 0;
  const size_t n_vocab = static_cast<size_t>(batch.n_vocab_);
  batch.logits_.resize(batch.active_.size() * n_vocab);
  Backend& backend = batch.active_[0]->backend_;
  if (absl::Status s = backend.decode(batch.steps_, batch.logits_); !s.ok()) return s;
  for (size_t i = 0; i < batch.active_.size(); ++i) {
    BandGenerator& g = *batch.active_[i];
    g.fed_length_ = g.song_length();
    const auto row = std::span<const float>(batch.logits_).subspan(i * n_vocab, n_vocab);
    absl::StatusOr<TokenId> next = g.choose_next(row, batch);
    if (!next.ok()) return next.status();
    if (absl::Status s = g.push(*next); !s.ok()) return s;
    ++g.tokens_generated_;
    g.push_forced(batch);
    g.trim_history();
  }
  return static_cast<int>(batch.active_.size());
}

absl::Status generate_until_done(std::span<BandGenerator* const> generators,
                                 GenerationBatch& batch) {
  while (true) {
    absl::StatusOr<int> stepped = generate_step(generators, batch);
    if (!stepped.ok()) return stepped.status();
    if (*stepped == 0) return absl::OkStatus();
  }
}

}  // namespace jamd::models
