// CommittedNotes: what the band has posted of each bar (as planned, before MusicianSpace shaped
// it), turned into the models::CommittedBar that a regeneration of the bar continues from, so
// that the model's context holds what sounds and it samples only after the commit point.
//
//   CommittedNotes posted;
//   posted.add(planned_note, timeline);                       // as each note is posted
//   if (auto bar = posted.committed_bar(4, posted_until_tick, timeline)) {
//     generator.set_committed(4, std::move(*bar));
//   }
//
// Thread safety: belongs to the conductor thread (// thread: conductor for every method).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "daemon/conductor/jam_timeline.h"
#include "models/generate/band_generator.h"

namespace jamd {

class CommittedNotes {
 public:
  void add(const TimedNote& note, const JamTimeline& timeline);
  // Bar `bar` as far as it is posted (onsets before `posted_until_tick`); nullopt when nothing of
  // it is. Every part resumes at the grid position of `posted_until_tick`.
  std::optional<models::CommittedBar> committed_bar(int64_t bar, int64_t posted_until_tick,
                                                    const JamTimeline& timeline) const;
  void drop_before(int64_t bar);
  void drop_from(int64_t tick);  // notes a stop kept from sounding

 private:
  std::map<int64_t, std::vector<TimedNote>> by_bar_;
};

// `notes` (of one part, onsets in bar `bar`) as the part's committed block, resuming at
// `resume_grid`. An empty block when the notes do not encode (cannot happen for planned notes).
models::CommittedPart committed_part(std::span<const TimedNote> notes, int part, int64_t bar,
                                     int resume_grid, const JamTimeline& timeline);

}  // namespace jamd
