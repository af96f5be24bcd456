// ContinuedLoop: which loop a resting musician established, and its chords bar by bar.
#include "daemon/conductor/continued_loop.h"

#include <cassert>
#include <utility>

namespace jamd {
namespace {

// A phrase heard once is a loop only at these lengths (bars): a single bar is too little to
// call a progression.
constexpr int kPhraseBars[] = {2, 4, 8};

}  // namespace

std::optional<int> established_loop_bars(int64_t first_bar, int64_t last_bar,
                                         const std::function<bool(int64_t, int)>& repeats) {
  if (last_bar < first_bar) return std::nullopt;
  for (const int loop_bars : kLoopBars) {
    int compared = 0;
    bool repeated = true;
    for (int64_t x = last_bar;
         x >= first_bar + loop_bars && x > last_bar - kLoopEvidenceBars && repeated; --x) {
      repeated = repeats(x, loop_bars);
      ++compared;
    }
    if (repeated && compared > 0) return loop_bars;
  }
  const int64_t phrase_bars = last_bar - first_bar + 1;
  for (const int n : kPhraseBars) {
    if (phrase_bars == n) return n;
  }
  return std::nullopt;
}

ContinuedLoop::ContinuedLoop(int64_t last_bar, std::vector<std::vector<models::ForcedChord>> period)
    : last_bar_(last_bar), period_(std::move(period)) {
  assert(!period_.empty());
}

const std::vector<models::ForcedChord>& ContinuedLoop::chords_for(int64_t bar) const {
  assert(bar > last_bar_);
  const auto n = static_cast<int64_t>(period_.size());
  // Bar last_bar + 1 starts the loop again: the period's first bar.
  return period_[static_cast<size_t>((bar - last_bar_ - 1) % n)];
}

}  // namespace jamd
