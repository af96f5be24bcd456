// BandPlan: the band's planned notes, bar by bar and part by part, as the generator's tokens
// decode, and which of them may go to the scheduler. A newer generation takes over as it is
// generated: a part's notes at grid positions the generator has passed come from the new
// version, its later ones from the older version until the part's block is finished (a splice,
// like the commit point's), so a regeneration reaches the playhead as soon as the first part's
// block (drums, in the model's order) passes the commit horizon, not a bar or two later; and
// while a regeneration runs the older version keeps playing, so a short commit horizon never
// leaves a gap.
//
//   BandPlan plan;
//   plan.update(generator, settled_bar, serial, timeline);   // after every chunk of tokens
//   int64_t until = plan.complete_until_tick(from, until_wanted, timeline);
//   plan.notes_in(from, until, &due);                        // by onset, with their serial
//
// Thread safety: belongs to the conductor thread (// thread: conductor for every method).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <vector>

#include "absl/status/status.h"
#include "daemon/conductor/jam_timeline.h"
#include "models/generate/band_generator.h"

namespace jamd {

// A planned note and the generation that wrote it (serials grow with every rollback or commit
// of the generator, so a note newer than a steering change has a serial at least its own).
struct PlannedNote {
  TimedNote note;
  int64_t serial = 0;
};

class BandPlan {
 public:
  // Re-decodes the generated bars from `first_bar` on, and the complete part blocks (and chord
  // block) of the bar being generated, stamping what changed with `serial`. INTERNAL when a bar
  // does not decode (the grammar makes that a bug).
  absl::Status update(const models::BandGenerator& generator, int64_t first_bar, int64_t serial,
                      const JamTimeline& timeline);
  // `until_tick`, or earlier: the start of the first bar in [from_tick, until_tick) that has a
  // part with no plan at all (never generated: nothing may be posted past it).
  int64_t complete_until_tick(int64_t from_tick, int64_t until_tick,
                              const JamTimeline& timeline) const;
  // Appends the notes with onsets in [from_tick, until_tick), sorted by onset (ties: part order).
  void notes_in(int64_t from_tick, int64_t until_tick, const JamTimeline& timeline,
                std::vector<PlannedNote>* out) const;
  // The bar's chords as last generated; nullptr when its chord block is not generated.
  const std::vector<models::ForcedChord>* chords(int64_t bar) const;
  // A new generation starts at `bar` (a rollback): bars from there keep what they would play now
  // as their older version, and forget their chords.
  void begin_generation(int64_t bar);
  void drop_before(int64_t bar);  // bars wholly in the past

 private:
  struct PartPlan {
    std::vector<PlannedNote> settled;  // the last finished version
    std::vector<PlannedNote> fresh;    // the version being generated: onsets before fresh_until
    int64_t fresh_until_tick = -1;     // -1: no version is being generated
    bool known = false;                // a finished version exists
    bool plays(const PlannedNote& n) const;  // n (from settled or fresh) is in the current plan
  };
  struct BarPlan {
    std::array<PartPlan, kNumParts> parts;
  };
  // Decodes `tokens` (one bar from its Bar token): parts [0, n_finished) are finished; part
  // n_finished (when < kNumParts) is generated up to `splice_tick`.
  absl::Status replace(std::span<const models::TokenId> tokens, int64_t bar, int n_finished,
                       int64_t splice_tick, int64_t serial, const JamTimeline& timeline);

  std::map<int64_t, BarPlan> bars_;
  std::map<int64_t, std::vector<models::ForcedChord>> chords_;
};

}  // namespace jamd
