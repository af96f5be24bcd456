// MusicianSpace: the room the band leaves the musician, decided as notes are committed (so it acts
// within the commit horizon, with no regeneration). Accompanying, the band's keys, pad and lead
// move out of the register the musician is playing in (by octaves, so the harmony stays) and
// play only on the beats while the musician plays densely; in call and response the lead is
// silent while the musician plays a phrase and answers in the gaps.
//
//   MusicianSpace space(options, bar_ticks);
//   space.hear_note(tick, pitch);                      // every heard note-on
//   std::optional<TimedNote> n = space.shape(note, now_tick, JamMode::kAccompany, held);
//
// Thread safety: belongs to the conductor thread (// thread: conductor for every method).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "daemon/conductor/jam_timeline.h"
#include "daemon/jam/jam_state.h"

namespace jamd {

struct AccompanyOptions {
  bool leave_register = true;   // keys, pad, lead move out of the musician's recent range
  bool thin_when_dense = true;  // keys, pad, lead keep only on-beat notes while they play densely
  // Onsets per beat over the last bar from which the musician counts as playing densely (a chord
  // on every beat is 1, running eighths 2, sixteenths 4; the listener may hear a few late).
  double dense_onsets_per_beat = 2.5;
};

class MusicianSpace {
 public:
  MusicianSpace(const AccompanyOptions& options, int64_t bar_ticks, int64_t beat_ticks);

  void hear_note(int64_t tick, int pitch);
  // The note as it should be committed now, or nullopt to leave it out. `musician_holds`: a note
  // of theirs is sounding.
  std::optional<TimedNote> shape(const TimedNote& note, int64_t now_tick, JamMode mode,
                                 bool musician_holds);

 private:
  struct Heard {
    int64_t tick;
    int pitch;
  };
  void forget_before(int64_t tick);

  AccompanyOptions options_;
  int64_t bar_ticks_;
  int64_t beat_ticks_;
  std::deque<Heard> recent_;  // note-ons of the last bar
};

}  // namespace jamd
