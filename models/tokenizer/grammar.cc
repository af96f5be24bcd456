// The grammar's state machine. One function lists the allowed token ranges per state; masks,
// membership tests and advance() all derive from it, so they cannot disagree.
#include "models/tokenizer/grammar.h"

#include <bit>
#include <cassert>
#include <utility>

#include "absl/strings/str_cat.h"

namespace jamd::models {

void TokenMask::set_range(TokenId first, int count) {
  for (TokenId id = first; id < first + count; ++id) set(id);
}

int TokenMask::count() const {
  int n = 0;
  for (uint64_t w : words_) n += std::popcount(w);
  return n;
}

namespace {

// Offset of a control class inside its token range (the "any" token follows the classes).
int control_offset(int cls, int n_classes) { return cls == kAnyClass ? n_classes : cls; }

// Canonical forced chords: sorted, first at 0, no repeated neighbours (decode() rejects those).
std::vector<ForcedChord> canonical_chords(std::vector<ForcedChord> chords) {
  std::stable_sort(chords.begin(), chords.end(), [](const ForcedChord& a, const ForcedChord& b) {
    return a.position_grid < b.position_grid;
  });
  std::vector<ForcedChord> out;
  out.reserve(chords.size() + 1);
  // No chord until the first forced one (replaced when that one sits at 0).
  out.push_back(ForcedChord{0, -1, ChordQuality::kMaj});
  for (const ForcedChord& c : chords) {
    assert(c.position_grid >= 0 && c.root_pitch_class >= -1 && c.root_pitch_class < 12);
    if (!out.empty() && out.back().position_grid == c.position_grid) out.pop_back();
    if (out.empty() && c.position_grid != 0) out.push_back(ForcedChord{0, -1, ChordQuality::kMaj});
    const bool same_as_previous = !out.empty() &&
                                  out.back().root_pitch_class == c.root_pitch_class &&
                                  (c.root_pitch_class < 0 || out.back().quality == c.quality);
    if (!same_as_previous) out.push_back(c);
  }
  return out;
}

int chord_value(const ForcedChord& c) {
  return c.root_pitch_class < 0
             ? -1
             : c.root_pitch_class * kNumChordQualities + static_cast<int>(c.quality);
}

}  // namespace

Grammar::Grammar(GrammarConstraints constraints) : vocab_(Vocabulary::get()) {
  set_constraints(std::move(constraints));
}

void Grammar::set_constraints(GrammarConstraints constraints) {
  if (constraints.chords) constraints.chords = canonical_chords(std::move(*constraints.chords));
  constraints_ = std::move(constraints);
}

bool Grammar::at_bar_boundary() const {
  return phase_ == Phase::kSongStart || phase_ == Phase::kBeforeBar ||
         (phase_ == Phase::kPartBody && part_ == kNumRoles - 1);
}

const ForcedChord* Grammar::next_forced_chord() const {
  if (!constraints_.chords || chord_count_ >= static_cast<int>(constraints_.chords->size())) {
    return nullptr;
  }
  const ForcedChord& c = (*constraints_.chords)[chord_count_];
  return c.position_grid < bar_grid_ ? &c : nullptr;
}

// After a part marker or a complete note: more notes of this part, or the next block.
void Grammar::part_body_ranges(auto&& f) const {
  if (constraints_.part_enabled[part_]) {
    if (position_ + 1 < bar_grid_) {
      f(vocab_.position(position_ + 1), bar_grid_ - position_ - 1);
    }
    if (position_ >= 0 && last_pitch_ < 127) f(vocab_.pitch(last_pitch_ + 1), 127 - last_pitch_);
  }
  if (part_ + 1 < kNumRoles) {
    f(vocab_.part(static_cast<Role>(part_ + 1)), 1);
  } else {
    f(vocab_.bar(), 1);
    f(vocab_.end(), 1);
  }
}

// Bar header: metre, tempo, densities and the other controls, forced or free.
void Grammar::header_ranges(auto&& f) const {
  const GrammarConstraints& c = constraints_;
  // A forced token (at `offset` in its kind's range), or the whole range.
  auto forced_or_all = [&](TokenKind kind, int forced, int offset) {
    if (forced == kFree) {
      f(vocab_.first_of(kind), vocab_.count_of(kind));
    } else {
      f(vocab_.first_of(kind) + offset, 1);
    }
  };
  auto control = [&](TokenKind kind, int forced, int n_classes) {
    forced_or_all(kind, forced, control_offset(forced, n_classes));
  };
  switch (phase_) {
    case Phase::kMeter:
      forced_or_all(TokenKind::kMeter, c.meter, c.meter);
      return;
    case Phase::kTempo:
      forced_or_all(TokenKind::kTempo, c.tempo_class, c.tempo_class);
      return;
    case Phase::kDensity: {
      int forced = c.density_class[density_role_];
      // A disabled part plays nothing, so its density is "empty" unless the caller says more.
      if (forced == kFree && !c.part_enabled[density_role_]) forced = 0;
      if (forced == kFree) {
        f(vocab_.density(density_role_, 0), kNumDensityClasses + 1);
      } else {
        f(vocab_.density(density_role_, forced), 1);
      }
      return;
    }
    case Phase::kEnergy:
      control(TokenKind::kEnergy, c.energy_class, kNumEnergyClasses);
      return;
    case Phase::kValence:
      control(TokenKind::kValence, c.valence_class, kNumValenceClasses);
      return;
    case Phase::kStyle:
      control(TokenKind::kStyle, c.style, kNumStyles);
      return;
    case Phase::kKey:
      control(TokenKind::kKey, c.key, kNumKeys);
      return;
    default:
      assert(false && "not a header phase");
  }
}

// The chord block: the downbeat chord, then (position, chord) changes, then Part_drums.
void Grammar::chord_ranges(auto&& f) const {
  const TokenId first_chord = vocab_.first_of(TokenKind::kChord);
  const int n_chords = vocab_.count_of(TokenKind::kChord);
  if (phase_ == Phase::kChordBlock) {
    if (constraints_.chords) {
      if (const ForcedChord* forced = next_forced_chord()) {
        f(vocab_.position(forced->position_grid), 1);
        return;
      }
    } else if (last_chord_position_ + 1 < bar_grid_) {
      f(vocab_.position(last_chord_position_ + 1), bar_grid_ - last_chord_position_ - 1);
    }
    f(vocab_.part(Role::kDrums), 1);
    return;
  }
  if (const ForcedChord* forced = next_forced_chord()) {
    f(first_chord + (chord_value(*forced) < 0 ? n_chords - 1 : chord_value(*forced)), 1);
    return;
  }
  if (phase_ == Phase::kFirstChord) {
    f(first_chord, n_chords);
    return;
  }
  // Any chord but a repeat of the one sounding (a repeat would be no change).
  const int skip = last_chord_value_ < 0 ? n_chords - 1 : last_chord_value_;
  f(first_chord, skip);
  f(first_chord + skip + 1, n_chords - skip - 1);
}

template <typename F>
void Grammar::for_each_allowed_range(F&& f) const {
  switch (phase_) {
    case Phase::kSongStart:
      f(vocab_.start(), 1);
      f(vocab_.bar(), 1);
      return;
    case Phase::kBeforeBar:
      f(vocab_.bar(), 1);
      if (bars_started_ > 0) f(vocab_.end(), 1);
      return;
    case Phase::kMeter:
    case Phase::kTempo:
    case Phase::kDensity:
    case Phase::kEnergy:
    case Phase::kValence:
    case Phase::kStyle:
    case Phase::kKey:
      header_ranges(f);
      return;
    case Phase::kFirstChord:
    case Phase::kChordBlock:
    case Phase::kChordAfterPosition:
      chord_ranges(f);
      return;
    case Phase::kPartBody:
      part_body_ranges(f);
      return;
    case Phase::kPitch:
      f(vocab_.pitch(last_pitch_ + 1), 127 - last_pitch_);
      return;
    case Phase::kVelocity:
      f(vocab_.first_of(TokenKind::kVelocity), kNumVelocityClasses);
      return;
    case Phase::kDuration:
      f(vocab_.first_of(TokenKind::kDuration), kNumDurationClasses);
      return;
    case Phase::kEnded:
      return;
  }
}

void Grammar::allowed(TokenMask* mask) const {
  assert(mask->size() == vocab_.size());
  mask->clear();
  for_each_allowed_range([mask](TokenId first, int count) { mask->set_range(first, count); });
}

bool Grammar::allows(TokenId id) const {
  bool found = false;
  for_each_allowed_range(
      [&](TokenId first, int count) { found = found || (id >= first && id < first + count); });
  return found;
}

absl::Status Grammar::advance(TokenId id) {
  if (id < 0 || id >= vocab_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("token id ", id, " is outside the vocabulary (", vocab_.size(), " tokens)"));
  }
  if (!allows(id)) {
    std::string expected;
    for_each_allowed_range([&](TokenId first, int count) {
      if (expected.size() > 80) return;
      absl::StrAppend(&expected, expected.empty() ? "" : ", ", vocab_.name(first),
                      count > 1 ? absl::StrCat("..", vocab_.name(first + count - 1)) : "");
    });
    return absl::InvalidArgumentError(absl::StrCat(
        "token ", vocab_.name(id), " may not come here (bar ", bars_started_,
        "); expected one of: ", expected.empty() ? "nothing (the song ended)" : expected));
  }
  apply(vocab_.info(id), id);
  return absl::OkStatus();
}

void Grammar::apply(const TokenInfo& info, TokenId id) {
  switch (info.kind) {
    case TokenKind::kStart:
      phase_ = Phase::kBeforeBar;
      return;
    case TokenKind::kEnd:
      phase_ = Phase::kEnded;
      return;
    case TokenKind::kBar:
      ++bars_started_;
      phase_ = Phase::kMeter;
      return;
    case TokenKind::kMeter: {
      const TimeSignature& m = kMeters[info.value];
      bar_grid_ = kGridPerBeat * 4 * m.numerator / m.denominator;
      phase_ = Phase::kTempo;
      return;
    }
    case TokenKind::kTempo:
      density_role_ = 0;
      phase_ = Phase::kDensity;
      return;
    case TokenKind::kDensity:
      if (++density_role_ == kNumBandRoles) phase_ = Phase::kEnergy;
      return;
    case TokenKind::kEnergy:
      phase_ = Phase::kValence;
      return;
    case TokenKind::kValence:
      phase_ = Phase::kStyle;
      return;
    case TokenKind::kStyle:
      phase_ = Phase::kKey;
      return;
    case TokenKind::kKey:
      chord_count_ = 0;
      last_chord_value_ = -2;
      last_chord_position_ = 0;
      phase_ = Phase::kFirstChord;
      return;
    case TokenKind::kChord:
      ++chord_count_;
      last_chord_value_ = info.value;
      phase_ = Phase::kChordBlock;
      return;
    case TokenKind::kPart:
      part_ = info.role;
      position_ = -1;
      last_pitch_ = -1;
      phase_ = Phase::kPartBody;
      return;
    case TokenKind::kPosition:
      if (phase_ == Phase::kChordBlock) {
        last_chord_position_ = info.value;
        phase_ = Phase::kChordAfterPosition;
      } else {
        position_ = info.value;
        last_pitch_ = -1;
        phase_ = Phase::kPitch;
      }
      return;
    case TokenKind::kPitch:
      last_pitch_ = info.value;
      phase_ = Phase::kVelocity;
      return;
    case TokenKind::kVelocity:
      phase_ = part_ == static_cast<int>(Role::kDrums) ? Phase::kPartBody : Phase::kDuration;
      return;
    case TokenKind::kDuration:
      phase_ = Phase::kPartBody;
      return;
    case TokenKind::kPad:
      break;
  }
  assert(false && "the grammar never allows Pad");
  (void)id;
}

}  // namespace jamd::models
