// ConductedJam: steering into controls, heard notes and chords into the model's context and chord
// plan, the commit point that moves bar by bar, and the splice of regenerated bars after the
// commit horizon.
#include "daemon/conductor/conducted_jam.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "models/tokenizer/tokenizer.h"
#include "models/vocab/vocabulary.h"

namespace jamd {
namespace {

using models::ForcedChord;

// Model grid steps per conductor tick: kGridPerBeat (12) per quarter note.
constexpr int64_t kTicksPerGrid = kConductorTicksPerQuarter / models::kGridPerBeat;
// A part answering a change (steering, a heard chord) plays its first new note within this many
// grid steps of the commit point: a 16th (kGridPerBeat / 4), the next subdivision, as a drummer
// or a keyboard player reacts; any three steps of the grid hold a 16th.
constexpr int kAnswerGrid = models::kGridPerBeat / 4;
// The listener's key guesses below this confidence do not move the band's key.
constexpr float kHeardKeyConfidence = 0.5f;

bool same_controls(const models::BandControls& a, const models::BandControls& b) {
  return models::tempo_class(a.tempo_bpm) == models::tempo_class(b.tempo_bpm) &&
         a.meter == b.meter && a.key == b.key && a.density_class == b.density_class &&
         a.energy_class == b.energy_class && a.valence_class == b.valence_class &&
         a.style == b.style && a.part_enabled == b.part_enabled &&
         a.sampling.temperature == b.sampling.temperature;
}

bool same_mix(const JamState& a, const JamState& b) {
  if (a.master_volume != b.master_volume) return false;
  for (int p = 0; p < kNumParts; ++p) {
    const PartState& x = a.parts[static_cast<size_t>(p)];
    const PartState& y = b.parts[static_cast<size_t>(p)];
    if (x.muted != y.muted || x.volume != y.volume || x.gm_program != y.gm_program) return false;
  }
  return true;
}

// The listener's chord as the model's forced chord; nullopt for "no chord".
std::optional<ForcedChord> forced_chord(const realtime::Chord& chord, int position_grid) {
  using realtime::ChordQuality;
  models::ChordQuality q = models::ChordQuality::kMaj;
  switch (chord.quality) {
    case ChordQuality::kNone:
      return std::nullopt;
    case ChordQuality::kMajor:
      q = models::ChordQuality::kMaj;
      break;
    case ChordQuality::kMinor:
      q = models::ChordQuality::kMin;
      break;
    case ChordQuality::kDominant7:
      q = models::ChordQuality::kDom7;
      break;
    case ChordQuality::kMinor7:
      q = models::ChordQuality::kMin7;
      break;
    case ChordQuality::kMajor7:
      q = models::ChordQuality::kMaj7;
      break;
    case ChordQuality::kDiminished:
      q = models::ChordQuality::kDim;
      break;
  }
  return ForcedChord{position_grid, chord.root_pc, q};
}

// The chord's tones as 12 bits, C first; 0 for "no chord".
uint16_t chord_tones(const realtime::Chord& chord) {
  const std::optional<ForcedChord> c = forced_chord(chord, 0);
  if (!c) return 0;
  return models::chord_tone_mask(c->root_pitch_class * models::kNumChordQualities +
                                 static_cast<int>(c->quality));
}

}  // namespace

ConductedJam::ConductedJam(JamId id, const JamState& state,
                           std::unique_ptr<models::BandGenerator> generator,
                           realtime::Scheduler& scheduler, const JamTimelineOptions& timeline,
                           const Horizons& horizons, const TempoOptions& tempo,
                           const AccompanyOptions& accompany)
    : id_(id),
      state_(state),
      generator_(std::move(generator)),
      timeline_(scheduler, timeline),
      horizons_(horizons),
      tempo_(tempo, timeline.tempo_bpm),
      space_(accompany, timeline_.bar_ticks(), timeline_.beat_ticks()),
      end_bar_(timeline.end_bar) {
  generator_->set_controls(controls_for(state));
  timeline_.send_mix(state);
  stopped_ = !state.playing;
}

models::BandControls ConductedJam::controls_for(const JamState& state) const {
  models::BandControls c = generator_->controls();
  c.tempo_bpm = state.tempo_bpm;
  c.meter = models::TimeSignature{state.beats_per_bar, 4};
  if (state.key_tonic >= 0) {
    c.key = state.key_tonic + (state.scale == Scale::kMinor ? 12 : 0);
  } else if (heard_key_.tonic_pc >= 0) {  // nobody set a key: play in the musician's
    c.key = heard_key_.tonic_pc + (heard_key_.minor ? 12 : 0);
  } else {
    c.key = models::kFree;
  }
  for (int p = 0; p < kNumParts; ++p) {
    const PartState& part = state.parts[static_cast<size_t>(p)];
    c.part_enabled[static_cast<size_t>(p)] = part.enabled;
    int density = models::kFree;
    if (part.density_class >= 0) {
      density = std::min(part.density_class, models::kNumDensityClasses - 1);
    } else if (state.density >= 0) {
      density = static_cast<int>(
          std::lround(std::min(state.density, 1.0f) * (models::kNumDensityClasses - 1)));
    }
    c.density_class[static_cast<size_t>(p)] = density;
  }
  c.energy_class = state.energy < 0
                       ? models::kFree
                       : static_cast<int>(std::lround(std::min(state.energy, 1.0f) *
                                                      (models::kNumEnergyClasses - 1)));
  c.sampling.temperature = std::clamp(state.temperature, 0.0f, 5.0f);
  return c;
}

void ConductedJam::request_regeneration(const char* cause, int64_t event_frame,
                                        unsigned answering_parts, uint16_t answer_pitch_classes) {
  needs_regeneration_ = true;
  pending_answering_parts_ |= answering_parts;
  pending_answer_pitch_classes_ = answer_pitch_classes;
  pending_reactions_.push_back(
      PendingReaction{Reaction{cause, event_frame, 0, 0.0}, plan_serial_ + 1});
}

void ConductedJam::apply_state(const JamState& state, int64_t now_frame) {
  const int64_t now_tick = timeline_.tick_at(now_frame);
  if (!state.playing) {
    if (!stopped_) {
      timeline_.stop();
      forget_posted_from(now_tick);
    }
    stopped_ = true;
    state_ = state;
    return;
  }
  if (stopped_) {  // resume: the plan plays on from the playhead, however short the stop was
    stopped_ = false;
    posted_until_tick_ = now_tick;
    timeline_.send_mix(state);
  }
  if (!same_mix(state, state_)) {
    timeline_.send_mix(state);
    for (int p = 0; p < kNumParts; ++p) {
      if (state.parts[static_cast<size_t>(p)].muted &&
          !state_.parts[static_cast<size_t>(p)].muted) {
        timeline_.silence_part(p);
      }
    }
  }
  if (state.tempo_bpm != state_.tempo_bpm) tempo_.steer(state.tempo_bpm);
  // People steering win over the musician's loop: a key set by hand (the loop's chords are the
  // old key's), or continue mode (the model's harmony).
  if (state.key_tonic != state_.key_tonic || state.scale != state_.scale ||
      (state.mode == JamMode::kContinue && state_.mode != JamMode::kContinue)) {
    drop_continued_loop(std::max<int64_t>(0, timeline_.bar_of(now_tick)));
  }
  const models::BandControls controls = controls_for(state);
  const bool steer = !same_controls(controls, generator_->controls()) || state.mode != state_.mode;
  state_ = state;
  if (steer) {
    generator_->set_controls(controls);
    keep_drums_bar_ = -1;  // the steering may change the drums
    chords_free_bar_ = -1;
    request_regeneration("steering", now_frame, first_playing_part());
  }
}

void ConductedJam::forget_posted_from(int64_t tick) {
  // The stop dropped every scheduled note from here on: they never sounded, and a resume posts
  // them again from its playhead.
  posted_until_tick_ = std::min(posted_until_tick_, tick);
  posted_.drop_from(tick);
  std::erase_if(record_.band_notes, [&](const TimedNote& n) { return n.tick >= tick; });
}

unsigned ConductedJam::playing_parts(std::initializer_list<int> parts) const {
  const models::BandControls& c = generator_->controls();
  unsigned bits = 0;
  for (const int p : parts) {
    const auto i = static_cast<size_t>(p);
    if (c.part_enabled[i] && c.density_class[i] != 0) bits |= 1u << p;
  }
  return bits;
}

unsigned ConductedJam::first_playing_part() const {
  for (int p = 0; p < models::kNumBandRoles; ++p) {
    if (const unsigned bit = playing_parts({p})) return bit;
  }
  return 0;
}

bool ConductedJam::accompanying(int64_t now_tick) const {
  switch (state_.mode) {
    case JamMode::kContinue:
      return false;
    case JamMode::kAccompany:
    case JamMode::kCallAndResponse:
      return true;
    case JamMode::kAuto:
      return !held_.empty() ||
             (last_human_tick_ >= 0 && now_tick - last_human_tick_ <= timeline_.bar_ticks());
  }
  return false;
}

void ConductedJam::hear(const realtime::HeardEvent& event, int64_t now_frame) {
  const int64_t tick = timeline_.tick_at(event.frame);
  switch (event.kind) {
    case realtime::HeardKind::kNoteOn:
      // A rest of a bar or more ends the phrase: the next loop is looked for from here.
      if (phrase_first_bar_ < 0 ||
          (held_.empty() && tick - last_human_tick_ > timeline_.bar_ticks())) {
        phrase_first_bar_ = timeline_.bar_of(tick);
      }
      continued_loop_.reset();  // the musician plays again: followed as they are heard
      loop_decided_ = false;
      last_onset_tick_ = tick;
      held_[event.pitch] = TimedNote{tick, 0, event.pitch, std::max(1, event.velocity), -1};
      last_human_tick_ = tick;
      space_.hear_note(tick, event.pitch);
      break;
    case realtime::HeardKind::kNoteOff: {
      const auto it = held_.find(event.pitch);
      if (it == held_.end()) break;
      TimedNote note = it->second;
      note.duration_ticks = std::max<int64_t>(1, tick - note.tick);
      held_.erase(it);
      human_by_bar_[timeline_.bar_of(note.tick)].push_back(note);
      record_.human_notes.push_back(note);
      last_human_tick_ = tick;
      break;
    }
    case realtime::HeardKind::kBeat:
      tempo_.hear_beat(event.frame, event.tempo_bpm, timeline_.sample_rate_hz());
      break;
    case realtime::HeardKind::kChord: {
      // The chord of the beat that starts at event.frame: snap to the jam's beat grid.
      const int64_t beat = timeline_.beat_ticks();
      const int64_t beat_tick = (tick + beat / 2) / beat * beat;
      const int64_t bar = timeline_.bar_of(beat_tick);
      record_.heard_chords.push_back(HeardChord{
          bar, static_cast<int>((beat_tick - timeline_.bar_start_tick(bar)) / beat), event.chord});
      heard_chords_until_tick_ = std::max(heard_chords_until_tick_, beat_tick + beat);
      if (event.chord.quality == realtime::ChordQuality::kNone) break;
      chord_key_.hear(event.chord);
      follow_heard_key(event.frame);
      const auto before = heard_changes_.upper_bound(beat_tick);
      if (before != heard_changes_.begin() && std::prev(before)->second == event.chord) break;
      // The tones that tell the new chord from the one heard before it.
      const uint16_t previous_tones =
          before == heard_changes_.begin() ? uint16_t{0} : chord_tones(std::prev(before)->second);
      const auto fresh_tones = static_cast<uint16_t>(chord_tones(event.chord) & ~previous_tones);
      heard_changes_[beat_tick] = event.chord;
      const auto position =
          static_cast<int>((beat_tick - timeline_.bar_start_tick(bar)) / kTicksPerGrid);
      if (accompanying(timeline_.tick_at(now_frame)) && follow_heard_chord(bar, position)) {
        if (!needs_regeneration_) keep_drums_bar_ = bar;
        request_regeneration("chord", event.frame, playing_parts({kPartBass, kPartKeys}),
                             fresh_tones);
      }
      break;
    }
    case realtime::HeardKind::kKey:
      if (event.confidence < kHeardKeyConfidence) break;
      listener_key_ = event.key;
      follow_heard_key(event.frame);
      break;
    default:
      break;
  }
}

void ConductedJam::follow_heard_key(int64_t event_frame) {
  // The chords name the key from the first beat; the listener's pitch-class profile needs many
  // seconds (C G Am F: G major 0.94 at 4 s, C major only at 14 s). Its key serves a musician
  // heard playing no chords.
  const realtime::Key key = chord_key_.key().value_or(listener_key_);
  if (key == heard_key_) return;
  heard_key_ = key;
  const models::BandControls controls = controls_for(state_);
  if (same_controls(controls, generator_->controls())) return;  // a key was set by hand
  generator_->set_controls(controls);
  chords_free_bar_ = -1;
  record_.heard_keys.emplace_back(timeline_.tick_at(event_frame), key);
  request_regeneration("key", event_frame);
}

std::vector<ForcedChord> ConductedJam::heard_plan(int64_t bar) const {
  std::vector<ForcedChord> plan;
  const int64_t start = timeline_.bar_start_tick(bar);
  auto it = heard_changes_.upper_bound(start);
  if (it != heard_changes_.begin()) {
    if (auto c = forced_chord(std::prev(it)->second, 0)) plan.push_back(*c);
  }
  for (; it != heard_changes_.end() && it->first < start + timeline_.bar_ticks(); ++it) {
    const auto c = forced_chord(it->second, static_cast<int>((it->first - start) / kTicksPerGrid));
    if (!c) continue;
    if (plan.empty()) {
      plan.push_back(ForcedChord{0, c->root_pitch_class, c->quality});
    } else if (plan.back().root_pitch_class != c->root_pitch_class ||
               plan.back().quality != c->quality) {
      if (plan.back().position_grid == c->position_grid) plan.pop_back();
      plan.push_back(*c);
    }
  }
  return plan;
}

std::optional<ForcedChord> ConductedJam::generated_chord_at(int64_t bar, int position_grid) const {
  const std::vector<ForcedChord>* chords = plan_.chords(bar);
  if (chords == nullptr) return std::nullopt;
  std::optional<ForcedChord> at;
  for (const ForcedChord& c : *chords) {
    if (c.position_grid <= position_grid) at = c;
  }
  return at;
}

bool ConductedJam::generated_holds(int64_t bar, int position_grid, const ForcedChord& chord) const {
  const std::vector<ForcedChord>* chords = plan_.chords(bar);
  if (chords == nullptr) return false;
  const auto same = [&](const ForcedChord& c) {
    return c.root_pitch_class == chord.root_pitch_class && c.quality == chord.quality;
  };
  const std::optional<ForcedChord> at = generated_chord_at(bar, position_grid);
  return at && same(*at) && std::all_of(chords->begin(), chords->end(), [&](const ForcedChord& c) {
           return c.position_grid <= position_grid || same(c);
         });
}

bool ConductedJam::same_chords(const std::vector<ForcedChord>& a,
                               const std::vector<ForcedChord>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const ForcedChord& x, const ForcedChord& y) {
                      return x.position_grid == y.position_grid &&
                             x.root_pitch_class == y.root_pitch_class && x.quality == y.quality;
                    });
}

bool ConductedJam::follow_heard_chord(int64_t bar, int position_grid) {
  if (bar < settled_bar_) return false;  // that bar's band can no longer change
  std::vector<ForcedChord> plan = heard_plan(bar);
  if (plan.empty()) return false;
  const ForcedChord* heard = &plan.front();
  for (const ForcedChord& c : plan) {
    if (c.position_grid <= position_grid) heard = &c;
  }
  // The model may have guessed the chord from what it heard before: then nothing changes, and
  // the bar stays as sampled (so replaying it at the bar line gives the same tokens). A guess
  // that moves on to another chord later in the bar is not kept: the heard chord holds until
  // the musician is heard changing it.
  if (generated_holds(bar, position_grid, *heard)) return false;
  generator_->force_chords(bar, plan);
  chord_plan_[bar] = std::move(plan);
  // A bar being generated may be past its chord block already.
  return bar < generator_->bars_generated() ||
         (bar == generator_->bars_generated() && !generator_->done());
}

void ConductedJam::follow_mode(int64_t now_tick, int64_t now_frame) {
  const bool on = accompanying(now_tick);
  if (on == accompanying_) return;
  accompanying_ = on;
  record_.mode_switches.emplace_back(now_tick, on);
  const int64_t bar = std::max<int64_t>(0, timeline_.bar_of(now_tick));
  if (on) return;  // the musician came in: the chords they play are followed as they are heard
  if (continued_loop_ && resting(now_tick)) return;  // the bars to come keep the musician's loop
  continued_loop_.reset();
  // The musician stopped: the model chooses the chords of the bars to come.
  chord_plan_.erase(chord_plan_.upper_bound(bar), chord_plan_.end());
  generator_->clear_forced_chords();
  for (const auto& [b, plan] : chord_plan_) generator_->force_chords(b, plan);
  if (generator_->bars_generated() > bar + 1) request_regeneration("musician stops", now_frame);
}

void ConductedJam::follow_tempo(int64_t now_tick) {
  const std::optional<double> bpm = tempo_.next_beat_tempo(timeline_, now_tick, accompanying_);
  if (!bpm || !timeline_.set_tempo_at_next_beat(now_tick, *bpm)) return;
  const int64_t beat = timeline_.beat_ticks();
  record_.tempo_changes.emplace_back((now_tick / beat + 1) * beat, *bpm);
}

absl::StatusOr<std::vector<models::TokenId>> ConductedJam::human_block(int64_t bar) {
  std::vector<models::Note> notes;
  const auto add = [&](const TimedNote& n, int64_t end_tick) {
    notes.push_back(models::Note{n.tick, std::max<int64_t>(1, end_tick - n.tick), n.pitch,
                                 n.velocity, models::Role::kHuman});
  };
  if (const auto it = human_by_bar_.find(bar); it != human_by_bar_.end()) {
    for (const TimedNote& n : it->second) add(n, n.tick + n.duration_ticks);
  }
  const int64_t bar_end = timeline_.bar_start_tick(bar + 1);
  for (const auto& [pitch, n] : held_) {
    if (timeline_.bar_of(n.tick) == bar) add(n, bar_end);
  }
  human_by_bar_.erase(human_by_bar_.begin(), human_by_bar_.upper_bound(bar));
  return models::encode_part_block(notes, kConductorTicksPerQuarter, timeline_.bar_start_tick(bar),
                                   models::TimeSignature{timeline_.beats_per_bar(), 4},
                                   models::Role::kHuman);
}

// Moves the commit point past the bars the musician has finished. The band's bar is in the
// generator already (the speculative bar after it too): the commit point moves to its end. When
// the musician played in it, their block goes in there and the bars after it are generated
// again, informed; when they did not, the bars after it were generated after an empty human
// block already and stay as they are (a band alone generates each bar once).
absl::Status ConductedJam::settle_step(int64_t now_bar, bool* needs_generation) {
  models::BandGenerator& g = *generator_;
  while (settled_bar_ < now_bar) {
    if (g.bars_generated() <= settled_bar_) {  // the bar is not finished yet
      if (g.done()) generation_started_ = true;
      g.request_bars(settled_bar_ + 1);
      generating_bar_ = settled_bar_;
      *needs_generation = true;
      return absl::OkStatus();
    }
    absl::StatusOr<std::vector<models::TokenId>> block = human_block(settled_bar_);
    if (!block.ok()) return block.status();
    g.commit_after_bar(settled_bar_);
    ++settled_bar_;
    if (block->empty()) continue;
    if (absl::Status s = rollback(); !s.ok()) return s;
    if (absl::Status s = g.append_human_bar(*block); !s.ok()) return s;
    g.commit();
    chords_free_bar_ = settled_bar_;
    needs_regeneration_ = false;  // the next bars are generated afresh from the new commit
  }
  return absl::OkStatus();
}

void ConductedJam::commit_posted_notes() {
  models::BandGenerator& g = *generator_;
  const int64_t last = timeline_.bar_of(std::max<int64_t>(0, posted_until_tick_ - 1));
  for (int64_t bar = std::max(settled_bar_, g.bars_generated()); bar <= last; ++bar) {
    std::optional<models::CommittedBar> committed =
        posted_.committed_bar(bar, posted_until_tick_, timeline_);
    if (!committed) continue;
    if (bar == chords_free_bar_) committed->chords_resume_grid = 0;
    if (bar == answering_bar_) {
      for (int p = 0; p < models::kNumBandRoles; ++p) {
        models::CommittedPart& part = committed->parts[static_cast<size_t>(p)];
        if ((answering_parts_ >> p & 1u) == 0) continue;
        part.react_before_grid = part.resume_grid + kAnswerGrid;
        part.answer_pitch_classes = answer_pitch_classes_;
      }
    }
    if (bar == keep_drums_bar_) {
      due_.clear();
      plan_.notes_in(timeline_.bar_start_tick(bar), timeline_.bar_start_tick(bar + 1), timeline_,
                     &due_);
      std::vector<TimedNote> drums;
      for (const PlannedNote& n : due_) {
        if (n.note.part == kPartDrums) drums.push_back(n.note);
      }
      const auto bar_grid = static_cast<int>(timeline_.bar_ticks() * models::kGridPerBeat /
                                             kConductorTicksPerQuarter);
      committed->parts[kPartDrums] = committed_part(drums, kPartDrums, bar, bar_grid, timeline_);
    }
    g.set_committed(bar, std::move(*committed));
  }
}

absl::Status ConductedJam::prepare(int64_t now_frame, bool* needs_generation) {
  *needs_generation = false;
  if (stopped_) return absl::OkStatus();
  const int64_t now_tick = timeline_.tick_at(now_frame);
  follow_mode(now_tick, now_frame);
  follow_tempo(now_tick);
  absl::Status s = plan_generation(now_tick, needs_generation);
  if (s.ok() && *needs_generation) commit_posted_notes();
  return s;
}

absl::Status ConductedJam::plan_generation(int64_t now_tick, bool* needs_generation) {
  const int64_t now_bar = std::max<int64_t>(0, timeline_.bar_of(now_tick));
  if (absl::Status s = settle_step(now_bar, needs_generation); !s.ok() || *needs_generation) {
    return s;
  }
  models::BandGenerator& g = *generator_;
  continue_loop(now_tick, timeline_.frame_at(now_tick));
  if (accompanying_) predict_chords(now_bar, timeline_.frame_at(now_tick));
  if (needs_regeneration_) {
    needs_regeneration_ = false;
    // Also when no bar past the commit is finished: a bar being generated keeps the controls
    // it started with.
    if (absl::Status s = rollback(); !s.ok()) return s;
  }
  const int64_t horizon_ticks =
      std::llround(horizons_.planning_horizon_beats * static_cast<double>(timeline_.beat_ticks()));
  int64_t target = std::max(timeline_.bar_of(now_tick + horizon_ticks) + 1, settled_bar_ + 1);
  if (end_bar_ > 0) target = std::min(target, end_bar_);
  if (g.bars_generated() < target) {
    if (g.done()) generation_started_ = true;
    g.request_bars(target);
    generating_bar_ = g.bars_generated();
    *needs_generation = true;
  }
  return absl::OkStatus();
}

absl::Status ConductedJam::rollback() {
  answering_parts_ = std::exchange(pending_answering_parts_, 0u);
  answer_pitch_classes_ = std::exchange(pending_answer_pitch_classes_, uint16_t{0});
  answering_bar_ = timeline_.bar_of(posted_until_tick_);
  ++plan_serial_;
  plan_.begin_generation(settled_bar_);
  generation_started_ = true;
  return generator_->rollback();
}

absl::Status ConductedJam::after_generation(int64_t tokens, double ms) {
  BarRecord& bar = record_.bars[generating_bar_];
  if (generation_started_ && bar.tokens_generated > 0) ++bar.regenerations;
  generation_started_ = false;
  bar.tokens_generated += tokens;
  bar.generation_ms += ms;
  if (absl::Status s = plan_.update(*generator_, settled_bar_, plan_serial_, timeline_); !s.ok()) {
    return absl::InternalError(absl::StrCat("jam ", id_, ": ", s.message()));
  }
  return absl::OkStatus();
}

void ConductedJam::post_due(int64_t now_frame) {
  if (stopped_) return;
  const int64_t now_tick = timeline_.tick_at(now_frame);
  const int64_t commit_ticks = horizons_.commit_horizon_ms < 0
                                   ? timeline_.beat_ticks()
                                   : timeline_.ticks_for_ms(horizons_.commit_horizon_ms, now_tick);
  const int64_t until =
      plan_.complete_until_tick(posted_until_tick_, now_tick + commit_ticks, timeline_);
  if (until <= posted_until_tick_) {
    let_unplanned_past_go(now_tick);
    return;
  }
  due_.clear();
  plan_.notes_in(posted_until_tick_, until, timeline_, &due_);
  const JamMode mode = state_.mode == JamMode::kAuto
                           ? (accompanying_ ? JamMode::kAccompany : JamMode::kContinue)
                           : state_.mode;
  for (const PlannedNote& planned : due_) {
    posted_.add(planned.note, timeline_);
    const std::optional<TimedNote> shaped =
        space_.shape(planned.note, now_tick, mode, !held_.empty());
    if (!shaped) {
      ++record_.notes_left_out;
      continue;
    }
    const TimedNote& n = *shaped;
    if (!timeline_.post_note(n)) ++record_.notes_refused;
    record_.band_notes.push_back(n);
    for (auto r = pending_reactions_.begin(); r != pending_reactions_.end();) {
      if (planned.serial < r->serial) {
        ++r;
        continue;
      }
      r->reaction.sound_frame = timeline_.frame_at(n.tick);
      r->reaction.ms = 1000.0 *
                       static_cast<double>(r->reaction.sound_frame - r->reaction.event_frame) /
                       timeline_.sample_rate_hz();
      record_.reactions.push_back(r->reaction);
      r = pending_reactions_.erase(r);
    }
  }
  plan_.drop_before(std::min(timeline_.bar_of(until) - 1, settled_bar_ - 1));
  posted_.drop_before(settled_bar_ - 1);
  posted_until_tick_ = until;
  let_unplanned_past_go(now_tick);
}

void ConductedJam::let_unplanned_past_go(int64_t now_tick) {
  if (posted_until_tick_ >= now_tick) return;  // planned (and posted) up to the playhead
  timeline_.count_unplanned(posted_until_tick_, now_tick);
  posted_until_tick_ = now_tick;
}

}  // namespace jamd
