// Quantization, encoding and decoding of scores; decode() checks every token with the grammar.
#include "models/tokenizer/tokenizer.h"

#include <algorithm>
#include <cassert>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "models/tokenizer/grammar.h"

namespace jamd::models {
namespace {

// Rounds ticks to the nearest grid step (halves away from zero), exactly in integers.
int64_t ticks_to_grid(int64_t ticks, int ticks_per_beat) {
  const int64_t scaled = ticks * kGridPerBeat * 2;
  const int64_t denominator = int64_t{ticks_per_beat} * 2;
  return scaled >= 0 ? (scaled + ticks_per_beat) / denominator
                     : -((-scaled + ticks_per_beat) / denominator);
}

int64_t bar_grid(const TimeSignature& m) { return bar_length_ticks(m, kGridPerBeat); }

absl::Status check_class(int value, int n_classes, const char* what, size_t bar) {
  if (value == kAnyClass || (value >= 0 && value < n_classes)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("bar ", bar, ": ", what, " class ", value,
                                                 " is outside 0..", n_classes - 1,
                                                 " (or kAnyClass)"));
}

absl::Status check_bar(const BarInfo& bar, size_t index) {
  if (meter_index(bar.time_signature) < 0) {
    std::vector<std::string> names;
    for (const TimeSignature& m : kMeters)
      names.push_back(absl::StrCat(m.numerator, "/", m.denominator));
    return absl::InvalidArgumentError(absl::StrCat(
        "bar ", index, " has metre ", bar.time_signature.numerator, "/",
        bar.time_signature.denominator,
        ", which the vocabulary lacks; supported metres: ", absl::StrJoin(names, ", ")));
  }
  const BarControls& c = bar.controls;
  for (int r = 0; r < kNumBandRoles; ++r) {
    if (auto s = check_class(c.density_class[r], kNumDensityClasses, "density", index); !s.ok()) {
      return s;
    }
  }
  for (auto [value, n, what] :
       {std::tuple{c.energy_class, kNumEnergyClasses, "energy"},
        std::tuple{c.valence_class, kNumValenceClasses, "valence"},
        std::tuple{c.style, kNumStyles, "style"}, std::tuple{c.key, kNumKeys, "key"}}) {
    if (auto s = check_class(value, n, what, index); !s.ok()) return s;
  }
  return absl::OkStatus();
}

bool same_chord(const ChordSpan& a, const ChordSpan& b) {
  return a.root_pitch_class == b.root_pitch_class && a.quality == b.quality;
}

// Sorted spans -> merged neighbours, no leading "no chord" (it is implied before the first span).
std::vector<ChordSpan> canonical_spans(const std::vector<ChordSpan>& spans) {
  std::vector<ChordSpan> out;
  for (const ChordSpan& span : spans) {
    if (!out.empty() && out.back().start_ticks == span.start_ticks) out.pop_back();
    if (out.empty() ? span.root_pitch_class < 0 : same_chord(out.back(), span)) continue;
    out.push_back(span);
  }
  return out;
}

absl::Status quantize_notes(const Score& score, const std::vector<int64_t>& starts,
                            std::vector<Note>* out) {
  struct Keyed {
    size_t bar;
    Note note;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(score.notes.size());
  for (const Note& n : score.notes) {
    if (n.pitch < 0 || n.pitch > 127) {
      return absl::InvalidArgumentError(absl::StrCat("note at tick ", n.start_ticks, " has pitch ",
                                                     n.pitch, "; MIDI pitches are 0..127"));
    }
    Note q = n;
    q.start_ticks = ticks_to_grid(n.start_ticks, score.ticks_per_beat);
    if (q.start_ticks < 0 || q.start_ticks >= starts.back()) {
      return absl::OutOfRangeError(
          absl::StrCat("note at tick ", n.start_ticks, " lies outside the ", score.bars.size(),
                       " bars of the score; add bars to cover every note"));
    }
    const int64_t end = ticks_to_grid(n.start_ticks + n.duration_ticks, score.ticks_per_beat);
    q.duration_ticks = n.role == Role::kDrums ? kDrumDurationGrid
                                              : kDurationGrid[duration_class(end - q.start_ticks)];
    q.velocity = velocity_class_value(velocity_class(n.velocity));
    const size_t bar = static_cast<size_t>(
        std::upper_bound(starts.begin(), starts.end(), q.start_ticks) - starts.begin() - 1);
    keyed.push_back(Keyed{bar, q});
  }
  auto key = [](const Keyed& k) {
    return std::tuple(k.bar, k.note.role, k.note.start_ticks, k.note.pitch);
  };
  // Of duplicates, the longest and then the loudest survives.
  std::stable_sort(keyed.begin(), keyed.end(), [&](const Keyed& a, const Keyed& b) {
    return std::tuple_cat(key(a), std::tuple(-a.note.duration_ticks, -a.note.velocity)) <
           std::tuple_cat(key(b), std::tuple(-b.note.duration_ticks, -b.note.velocity));
  });
  out->clear();
  for (size_t i = 0; i < keyed.size(); ++i) {
    if (i > 0 && key(keyed[i]) == key(keyed[i - 1])) continue;
    out->push_back(keyed[i].note);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Score> quantize(const Score& score) {
  if (score.ticks_per_beat <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ticks_per_beat must be positive, not ", score.ticks_per_beat));
  }
  Score q;
  q.ticks_per_beat = kGridPerBeat;
  std::vector<int64_t> starts = {0};
  for (size_t i = 0; i < score.bars.size(); ++i) {
    if (absl::Status s = check_bar(score.bars[i], i); !s.ok()) return s;
    BarInfo bar = score.bars[i];
    bar.tempo_bpm = tempo_class_bpm(tempo_class(bar.tempo_bpm));
    q.bars.push_back(bar);
    starts.push_back(starts.back() + bar_grid(bar.time_signature));
  }
  if (absl::Status s = quantize_notes(score, starts, &q.notes); !s.ok()) return s;

  std::vector<ChordSpan> spans;
  for (const ChordSpan& c : score.chords) {
    if (c.root_pitch_class < -1 || c.root_pitch_class > 11) {
      return absl::InvalidArgumentError(absl::StrCat("chord at tick ", c.start_ticks, " has root ",
                                                     c.root_pitch_class, "; roots are -1..11"));
    }
    ChordSpan s = c;
    s.start_ticks = std::max<int64_t>(0, ticks_to_grid(c.start_ticks, score.ticks_per_beat));
    if (s.root_pitch_class < 0) s.quality = ChordQuality::kMaj;
    if (s.start_ticks < starts.back()) spans.push_back(s);
  }
  std::stable_sort(spans.begin(), spans.end(), [](const ChordSpan& a, const ChordSpan& b) {
    return a.start_ticks < b.start_ticks;
  });
  q.chords = canonical_spans(spans);
  return q;
}

namespace {

void encode_header(const BarInfo& bar, std::vector<TokenId>* out) {
  const Vocabulary& v = Vocabulary::get();
  const BarControls& c = bar.controls;
  out->push_back(v.bar());
  out->push_back(v.meter(meter_index(bar.time_signature)));
  out->push_back(v.tempo(tempo_class(bar.tempo_bpm)));
  for (int r = 0; r < kNumBandRoles; ++r) out->push_back(v.density(r, c.density_class[r]));
  out->push_back(v.energy(c.energy_class));
  out->push_back(v.valence(c.valence_class));
  out->push_back(v.style(c.style));
  out->push_back(v.key(c.key));
}

// Walks a quantized score bar by bar; each call consumes the chords and notes of one bar.
class BarEncoder {
 public:
  BarEncoder(const Score& q, std::vector<TokenId>* out) : q_(q), v_(Vocabulary::get()), out_(out) {}

  void chords(int64_t bar_start, int64_t bar_end) {
    while (next_chord_ < q_.chords.size() && q_.chords[next_chord_].start_ticks <= bar_start) {
      sounding_ = q_.chords[next_chord_++];
    }
    out_->push_back(chord_token(sounding_));
    while (next_chord_ < q_.chords.size() && q_.chords[next_chord_].start_ticks < bar_end) {
      sounding_ = q_.chords[next_chord_++];
      out_->push_back(v_.position(static_cast<int>(sounding_.start_ticks - bar_start)));
      out_->push_back(chord_token(sounding_));
    }
  }

  // Notes are sorted by bar, role, onset and pitch, so each part's notes come in one run.
  void parts(int64_t bar_start, int64_t bar_end) {
    for (int r = 0; r < kNumRoles; ++r) {
      out_->push_back(v_.part(static_cast<Role>(r)));
      int64_t position = -1;
      while (next_note_ < q_.notes.size() && q_.notes[next_note_].start_ticks < bar_end &&
             static_cast<int>(q_.notes[next_note_].role) == r) {
        const Note& n = q_.notes[next_note_++];
        if (n.start_ticks != position) {
          position = n.start_ticks;
          out_->push_back(v_.position(static_cast<int>(position - bar_start)));
        }
        out_->push_back(v_.pitch(n.pitch));
        out_->push_back(v_.velocity(velocity_class(n.velocity)));
        if (n.role != Role::kDrums) out_->push_back(v_.duration(duration_class(n.duration_ticks)));
      }
    }
  }

  bool all_notes_written() const { return next_note_ == q_.notes.size(); }

 private:
  TokenId chord_token(const ChordSpan& s) const {
    return s.root_pitch_class < 0 ? v_.no_chord() : v_.chord(s.root_pitch_class, s.quality);
  }

  const Score& q_;
  const Vocabulary& v_;
  std::vector<TokenId>* out_;
  size_t next_note_ = 0;
  size_t next_chord_ = 0;
  ChordSpan sounding_;  // no chord before the first span
};

}  // namespace

absl::StatusOr<std::vector<TokenId>> encode(const Score& score, const EncodeOptions& options) {
  absl::StatusOr<Score> quantized = quantize(score);
  if (!quantized.ok()) return quantized.status();
  const Score& q = *quantized;
  const Vocabulary& v = Vocabulary::get();
  const std::vector<int64_t> starts = bar_start_ticks(q);

  std::vector<TokenId> out;
  out.reserve(q.bars.size() * 40 + q.notes.size() * 4);
  if (options.add_start_end) out.push_back(v.start());
  BarEncoder bars(q, &out);
  for (size_t b = 0; b < q.bars.size(); ++b) {
    encode_header(q.bars[b], &out);
    bars.chords(starts[b], starts[b + 1]);
    bars.parts(starts[b], starts[b + 1]);
  }
  assert(bars.all_notes_written());
  if (options.add_start_end) out.push_back(v.end());
  return out;
}

absl::StatusOr<std::vector<TokenId>> encode_part_block(std::span<const Note> notes,
                                                       int ticks_per_beat, int64_t bar_start_ticks,
                                                       const TimeSignature& time_signature,
                                                       Role role) {
  if (ticks_per_beat <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ticks_per_beat must be positive, not ", ticks_per_beat));
  }
  Score bar;
  bar.ticks_per_beat = ticks_per_beat;
  bar.bars.push_back(BarInfo{time_signature, 120.0, {}});
  const int64_t length_grid = bar_grid(time_signature);
  for (Note n : notes) {
    n.start_ticks -= bar_start_ticks;
    const int64_t onset_grid = ticks_to_grid(n.start_ticks, ticks_per_beat);
    if (onset_grid < 0 || onset_grid >= length_grid) continue;
    n.role = role;
    bar.notes.push_back(n);
  }
  absl::StatusOr<Score> q = quantize(bar);
  if (!q.ok()) return q.status();
  std::vector<TokenId> tokens;
  BarEncoder(*q, &tokens).parts(0, length_grid);
  // Keep what lies between this part's marker and the next one.
  const Vocabulary& v = Vocabulary::get();
  auto first = std::find(tokens.begin(), tokens.end(), v.part(role)) + 1;
  auto last = std::find_if(first, tokens.end(),
                           [&](TokenId t) { return v.info(t).kind == TokenKind::kPart; });
  return std::vector<TokenId>(first, last);
}

namespace {

// Builds a score from tokens the grammar has accepted, one token at a time.
class ScoreBuilder {
 public:
  ScoreBuilder() { score_.ticks_per_beat = kGridPerBeat; }

  void add(const TokenInfo& t) {
    if (t.kind == TokenKind::kBar) {
      if (!score_.bars.empty()) bar_start_ += bar_grid(score_.bars.back().time_signature);
      score_.bars.emplace_back();
      return;
    }
    if (score_.bars.empty()) return;  // Start: nothing to write
    BarInfo& bar = score_.bars.back();
    switch (t.kind) {
      case TokenKind::kMeter:
        bar.time_signature = kMeters[t.value];
        break;
      case TokenKind::kTempo:
        bar.tempo_bpm = tempo_class_bpm(t.value);
        break;
      case TokenKind::kDensity:
        bar.controls.density_class[t.role] = t.value;
        break;
      case TokenKind::kEnergy:
        bar.controls.energy_class = t.value;
        break;
      case TokenKind::kValence:
        bar.controls.valence_class = t.value;
        break;
      case TokenKind::kStyle:
        bar.controls.style = t.value;
        break;
      case TokenKind::kKey:
        bar.controls.key = t.value;
        position_ = 0;  // the bar's first chord sits on the downbeat
        break;
      case TokenKind::kChord:
        add_chord(t.value);
        break;
      case TokenKind::kPart:
        position_ = 0;
        note_.role = static_cast<Role>(t.role);
        break;
      case TokenKind::kPosition:
        position_ = t.value;
        break;
      case TokenKind::kPitch:
        note_.start_ticks = bar_start_ + position_;
        note_.pitch = t.value;
        break;
      case TokenKind::kVelocity:
        note_.velocity = velocity_class_value(t.value);
        if (note_.role == Role::kDrums) add_note(kDrumDurationGrid);
        break;
      case TokenKind::kDuration:
        add_note(kDurationGrid[t.value]);
        break;
      default:
        break;
    }
  }

  Score finish() {
    score_.chords = canonical_spans(spans_);
    return std::move(score_);
  }

 private:
  void add_chord(int value) {
    ChordSpan span;
    span.start_ticks = bar_start_ + position_;
    if (value >= 0) {
      span.root_pitch_class = value / kNumChordQualities;
      span.quality = static_cast<ChordQuality>(value % kNumChordQualities);
    }
    spans_.push_back(span);
  }
  void add_note(int64_t duration_grid) {
    note_.duration_ticks = duration_grid;
    score_.notes.push_back(note_);
  }

  Score score_;
  std::vector<ChordSpan> spans_;
  int64_t bar_start_ = 0;
  int64_t position_ = 0;
  Note note_;
};

}  // namespace

absl::StatusOr<Score> decode(std::span<const TokenId> tokens) {
  const Vocabulary& v = Vocabulary::get();
  Grammar grammar;
  ScoreBuilder builder;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (absl::Status s = grammar.advance(tokens[i]); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("token ", i, ": ", s.message()));
    }
    builder.add(v.info(tokens[i]));
  }
  using Phase = Grammar::Phase;
  const Phase end = grammar.phase();
  if (end != Phase::kSongStart && end != Phase::kBeforeBar && end != Phase::kEnded &&
      end != Phase::kChordBlock && end != Phase::kPartBody) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the tokens end inside bar ", grammar.bars_started(),
        " (in its header or inside a note); cut sequences after a chord or a complete note"));
  }
  return builder.finish();
}

std::string tokens_to_string(std::span<const TokenId> tokens) {
  const Vocabulary& v = Vocabulary::get();
  std::string out;
  for (TokenId t : tokens) {
    absl::StrAppend(&out, out.empty() ? "" : " ",
                    t >= 0 && t < v.size() ? v.name(t) : absl::StrCat("#", t));
  }
  return out;
}

}  // namespace jamd::models
