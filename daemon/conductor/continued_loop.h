// ContinuedLoop: the musician's progression that the band keeps playing while the musician rests
// (the "continue" of issue 5: the band keeps the established harmony, and is on the loop when the
// musician comes back in on it). docs/conductor.md, "Continue: the loop through the rest".
//
//   std::optional<int> n = established_loop_bars(first_bar, last_bar, repeats);  // e.g. 4
//   ContinuedLoop loop(last_bar, {chords of bars last_bar - 3 .. last_bar});
//   loop.chords_for(last_bar + 1);  // the chords of the loop's first bar
//
// Thread safety: none (the conductor thread owns it).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "models/generate/band_generator.h"

namespace jamd {

// Progressions repeat: the loop lengths (bars) a musician's harmony is tested for, shortest
// first, and how many recent bars must all repeat one loop earlier to trust it (the prediction
// while the musician plays, ConductedJam::predicted_plan, and the loop kept through a rest).
inline constexpr int kLoopBars[] = {1, 2, 4, 8};
inline constexpr int64_t kLoopEvidenceBars = 8;

// The loop length (bars) of a musician's phrase that ran from `first_bar` to `last_bar` (both
// heard to their end), or nullopt. `repeats(bar, loop_bars)`: the bar has the chords of the bar
// one loop earlier. A loop of 1, 2, 4 or 8 bars whose last 8 bars all repeat one loop earlier is
// established (shortest first, as the prediction while the musician plays). A phrase of exactly
// 2, 4 or 8 bars that repeats nothing is taken as a loop heard once: songs are built of such
// phrases, and a musician who stops at the end of one comes back at the start of the next; a
// longer phrase that did not repeat is no loop.
std::optional<int> established_loop_bars(int64_t first_bar, int64_t last_bar,
                                         const std::function<bool(int64_t, int)>& repeats);

class ContinuedLoop {
 public:
  // `period`: the chords of the loop's last heard period, bar by bar, ending with `last_bar`.
  ContinuedLoop(int64_t last_bar, std::vector<std::vector<models::ForcedChord>> period);

  int loop_bars() const { return static_cast<int>(period_.size()); }
  // The chords of a bar after `last_bar`: those of the bar a whole number of loops before it
  // (empty when that bar had none).
  const std::vector<models::ForcedChord>& chords_for(int64_t bar) const;

 private:
  int64_t last_bar_;
  std::vector<std::vector<models::ForcedChord>> period_;
};

}  // namespace jamd
