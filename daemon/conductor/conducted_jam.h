// ConductedJam: one jam's generation state inside the conductor: its BandGenerator, the bars it
// has planned (decoded notes), what the musician was heard playing, the commit point, and the
// record the offline report is made from. The Conductor drives it; see docs/conductor.md.
//
//   ConductedJam jam(id, state, *generator, scheduler, timeline_options, horizons);
//   jam.apply_state(new_state, now_frame);   // steering: may ask for a regeneration
//   jam.hear(heard_event);                   // musician's notes and chords
//   while (jam.prepare(now_frame)) { generate_until_done(...); jam.after_generation(...); }
//   jam.post_due(now_frame);                 // commit: notes inside the commit horizon
//
// Thread safety: belongs to the conductor thread (// thread: conductor for every method).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "daemon/conductor/band_plan.h"
#include "daemon/conductor/committed_notes.h"
#include "daemon/conductor/continued_loop.h"
#include "daemon/conductor/heard_chord_key.h"
#include "daemon/conductor/jam_timeline.h"
#include "daemon/conductor/musician_space.h"
#include "daemon/conductor/tempo_follower.h"
#include "daemon/jam/jam_state.h"
#include "models/generate/band_generator.h"
#include "realtime/core/scheduler.h"
#include "realtime/listen/heard_event.h"

namespace jamd {

using JamId = uint64_t;

struct Horizons {
  // Planned notes closer than this to the playhead are posted to the scheduler and frozen; < 0:
  // one beat at the jam's tempo. 30 ms: the conductor keeps posting the older plan while a
  // regeneration runs (in chunks of a few ms), so the horizon only has to cover a chunk, the
  // conductor's wake-up and an audio period (5.3 ms); 30 ms had no more late notes than 60 ms,
  // quiet or loaded, and is half of the steering reaction (docs/conductor.md, measured).
  double commit_horizon_ms = 30.0;
  // The band is generated through the bar that holds the playhead plus this: the next bar from
  // the current one's middle (in 4/4). A steer rolls back to the current bar, so the next bar,
  // when it is there, is generated again: 4 beats (the next bar from the bar line) did that
  // twice as often, and with 32 jams steered once a second the conductor fell seconds behind
  // (jam_load_bench --plan-beats, docs/PERFORMANCE.md, session 10).
  double planning_horizon_beats = 2.0;
};

struct HeardChord {
  int64_t bar = 0;
  int beat = 0;
  realtime::Chord chord;
};

// Per bar, for the report.
struct BarRecord {
  int64_t tokens_generated = 0;  // every generation of the bar, regenerations included
  double generation_ms = 0.0;    // wall time of those generations
  int regenerations = 0;         // generations after the first (steering, chords, heard bars)
};

struct Reaction {
  std::string cause;        // "steering", "chord", "heard bar"
  int64_t event_frame = 0;  // when it happened on the jam's clock
  int64_t sound_frame = 0;  // the first note of the new plan
  double ms = 0.0;
};

// Everything the jam played and heard, in conductor ticks.
struct JamRecord {
  std::vector<TimedNote> band_notes;   // as posted to the scheduler, in posting order
  std::vector<TimedNote> human_notes;  // as heard (part -1)
  std::vector<HeardChord> heard_chords;
  std::map<int64_t, BarRecord> bars;
  std::vector<Reaction> reactions;
  std::vector<std::pair<int64_t, double>> tempo_changes;  // (beat tick, BPM from there)
  std::vector<std::pair<int64_t, bool>> mode_switches;    // (tick, accompanying from there)
  // (tick heard, key) each time the band took the musician's key (nobody set one).
  std::vector<std::pair<int64_t, realtime::Key>> heard_keys;
  // Bar -> the bar under the playhead when its chords were predicted from the musician's loop.
  std::map<int64_t, int64_t> predicted_bars;
  // Bar -> the loop length (bars) when the musician was resting and the bar was given their
  // established loop's chords.
  std::map<int64_t, int> continued_bars;
  int64_t notes_left_out = 0;  // room left to the musician (register, density, their phrase)
  int64_t notes_refused = 0;   // the scheduler's queue was full
};

class ConductedJam {
 public:
  ConductedJam(JamId id, const JamState& state, std::unique_ptr<models::BandGenerator> generator,
               realtime::Scheduler& scheduler, const JamTimelineOptions& timeline,
               const Horizons& horizons, const TempoOptions& tempo = {},
               const AccompanyOptions& accompany = {});

  JamId id() const { return id_; }
  bool stopped() const { return stopped_; }
  models::BandGenerator& generator() { return *generator_; }
  const JamTimeline& timeline() const { return timeline_; }
  const JamRecord& record() const { return record_; }

  // Steering: instant fields go to the scheduler now; model fields ask for a regeneration.
  void apply_state(const JamState& state, int64_t now_frame);
  void hear(const realtime::HeardEvent& event, int64_t now_frame);
  // Sets the generator up for what is due now (settle heard bars, roll back after a change,
  // plan up to the horizon). True when it needs generate_step()s.
  absl::Status prepare(int64_t now_frame, bool* needs_generation);
  // After a chunk of generate_step()s (or when the generator is done()): decode what changed
  // (finished bars and finished part blocks). `ms` is the chunk's wall time.
  absl::Status after_generation(int64_t tokens, double ms);
  // Posts every planned note whose onset entered the commit horizon. When the playhead has passed
  // the end of the plan (the conductor fell behind: a bar not generated in time), what was not
  // planned before the playhead is let go: the band rests there, and the bar is generated from
  // the playhead on (commit_posted_notes), in time, instead of late in full.
  void post_due(int64_t now_frame);

 private:
  models::BandControls controls_for(const JamState& state) const;
  // Whether the band follows heard chords now (the mode, and in kAuto whether the musician plays).
  bool accompanying(int64_t now_tick) const;
  void follow_mode(int64_t now_tick, int64_t now_frame);
  void follow_tempo(int64_t now_tick);
  // The bar's chords as heard so far (the chord sounding at its downbeat, then the changes).
  std::vector<models::ForcedChord> heard_plan(int64_t bar) const;
  static bool same_chords(const std::vector<models::ForcedChord>& a,
                          const std::vector<models::ForcedChord>& b);
  // Whether the bar `loop_bars` before `bar` had the same chords: the whole bar when it was
  // heard to its end, else the positions heard so far (false when none was).
  bool repeats_loop(int64_t bar, int loop_bars) const;
  // When the heard bars repeat with a loop of 1, 2, 4 or 8 bars, the chords heard one loop
  // before `bar`. The evidence is the last whole bars heard and the part of the current bar
  // heard so far, so a 4-bar loop is predicted from bar 5 on (bar 4's first beat repeats bar 0).
  std::optional<std::vector<models::ForcedChord>> predicted_plan(int64_t bar,
                                                                 int64_t now_bar) const;
  // Forces the predicted chords on the current and the next bar; the next bar, generated before
  // the prediction was known, is generated again when it plans other chords.
  void predict_chords(int64_t now_bar, int64_t now_frame);
  // While the musician rests (state not kContinue, nothing sounding for a beat), forces the loop
  // they established (ContinuedLoop) on the current and the next bar; the next bar, or the rest
  // of the current one, is generated again when it planned other chords.
  void continue_loop(int64_t now_tick, int64_t now_frame);
  bool resting(int64_t now_tick) const;
  // The loop the musician's phrase established, from the chords heard up to its last bar.
  std::optional<ContinuedLoop> established_loop() const;
  // Forgets the continued loop's chords from `bar` on (a key set by hand: they belong to the old
  // key); no loop is continued until the musician plays again.
  void drop_continued_loop(int64_t bar);
  // The band's key while nobody set one: the key of the heard chords, else the listener's.
  void follow_heard_key(int64_t event_frame);
  // Rolls the generator back to the commit point: what follows is a new plan (a new serial).
  absl::Status rollback();
  // The chord the generated bar holds at a grid position (nullopt: not generated).
  std::optional<models::ForcedChord> generated_chord_at(int64_t bar, int position_grid) const;
  // Whether the generated bar plays `chord` at a grid position and keeps it to the bar's end.
  bool generated_holds(int64_t bar, int position_grid, const models::ForcedChord& chord) const;
  // After a chord was heard at (bar, position): when the band planned another chord there,
  // forces the bar's heard chords; true when a generated bar must be regenerated.
  bool follow_heard_chord(int64_t bar, int position_grid);
  // The musician's notes of `bar` as the human block (notes still held are cut at the bar line).
  absl::StatusOr<std::vector<models::TokenId>> human_block(int64_t bar);
  absl::Status settle_step(int64_t now_bar, bool* needs_generation);
  absl::Status plan_generation(int64_t now_tick, bool* needs_generation);
  // Tells the generator what already sounds of the bars it is about to generate (again).
  void commit_posted_notes();
  // `answering_parts` (bits by part) answer the change on the next subdivision after the commit
  // point (CommittedPart::react_before_grid).
  // `answer_pitch_classes`: the tones those answers lean to (a new chord's own tones).
  void request_regeneration(const char* cause, int64_t event_frame, unsigned answering_parts = 0,
                            uint16_t answer_pitch_classes = 0);
  // The first part in the model's order that plays under the current controls, as a bit.
  unsigned first_playing_part() const;
  unsigned playing_parts(std::initializer_list<int> parts) const;
  // post_due() found the plan ending before the playhead: nothing is posted up to it (counted in
  // the scheduler's unplanned_frames).
  void let_unplanned_past_go(int64_t now_tick);
  // A stop at `tick`: what was posted from there on is unposted (the scheduler dropped it).
  void forget_posted_from(int64_t tick);

  // A reaction waits for the first posted note of a plan at least as new as `serial`.
  struct PendingReaction {
    Reaction reaction;
    int64_t serial = 0;
  };

  JamId id_;
  JamState state_;
  std::unique_ptr<models::BandGenerator> generator_;
  JamTimeline timeline_;
  Horizons horizons_;
  TempoFollower tempo_;
  MusicianSpace space_;
  int64_t end_bar_ = 0;
  bool stopped_ = false;
  bool accompanying_ = false;
  // The generator's commit point is before band bar settled_bar_; the human block of every
  // earlier bar has been appended.
  int64_t settled_bar_ = 0;
  bool needs_regeneration_ = false;
  int64_t generating_bar_ = 0;       // the bar the running generation is for (the report)
  bool generation_started_ = false;  // a new generation began since the last chunk (the report)
  // Grows at every rollback and commit of the generator: the plan's notes carry it.
  int64_t plan_serial_ = 0;
  BandPlan plan_;
  CommittedNotes posted_;  // what was posted, as planned
  // A bar regenerated for a heard chord keeps its whole drums block (drums do not follow chords,
  // and the bass and keys blocks after it are reached sooner); -1: none.
  int64_t keep_drums_bar_ = -1;
  // A bar generated again after the musician's previous bar was heard may choose its chords
  // again (informed, they are a better guess than the speculative version's); -1: none.
  int64_t chords_free_bar_ = -1;
  // The parts that answer the change a regeneration is for, and the bar of its commit point.
  unsigned pending_answering_parts_ = 0;  // asked for, until the rollback
  uint16_t pending_answer_pitch_classes_ = 0;
  unsigned answering_parts_ = 0;
  uint16_t answer_pitch_classes_ = 0;
  int64_t answering_bar_ = -1;
  std::vector<PlannedNote> due_;   // scratch for post_due
  int64_t posted_until_tick_ = 0;  // onsets before it are posted (frozen)
  // The musician.
  std::map<int, TimedNote> held_;                           // pitch -> sounding note
  std::map<int64_t, std::vector<TimedNote>> human_by_bar_;  // finished notes not yet appended
  int64_t last_human_tick_ = -1;
  int64_t phrase_first_bar_ = -1;  // the bar the musician came in after their last rest
  // The loop continued through the musician's rest (none while they play).
  std::optional<ContinuedLoop> continued_loop_;
  // Whether this rest's loop was looked for (or dropped by a key set by hand): looked for once a
  // rest, again when the musician has played.
  bool loop_decided_ = false;
  int64_t last_onset_tick_ = -1;                      // the musician's last note-on
  std::map<int64_t, realtime::Chord> heard_changes_;  // beat tick -> chord heard from there
  int64_t heard_chords_until_tick_ = 0;  // the listener has named the chords of beats before it
  HeardChordKey chord_key_;              // the key of the chords heard
  realtime::Key listener_key_;           // the listener's key (confident guesses only)
  // The musician's key (follow_heard_key); the band's key while nobody set one (tonic -1: none
  // heard yet).
  realtime::Key heard_key_;
  std::map<int64_t, std::vector<models::ForcedChord>> chord_plan_;  // forced, by bar
  std::vector<PendingReaction> pending_reactions_;
  JamRecord record_;
};

}  // namespace jamd
