// CommittedNotes: the posted notes by bar, encoded per part for BandGenerator::set_committed.
#include "daemon/conductor/committed_notes.h"

#include <algorithm>

#include "models/tokenizer/tokenizer.h"

namespace jamd {
namespace {

// Model grid steps per conductor tick: kGridPerBeat (12) per quarter note.
constexpr int64_t kTicksPerGrid = kConductorTicksPerQuarter / models::kGridPerBeat;

}  // namespace

models::CommittedPart committed_part(std::span<const TimedNote> notes, int part, int64_t bar,
                                     int resume_grid, const JamTimeline& timeline) {
  std::vector<models::Note> model_notes;
  for (const TimedNote& n : notes) {
    model_notes.push_back(models::Note{n.tick, n.duration_ticks, n.pitch, n.velocity,
                                       static_cast<models::Role>(part)});
  }
  absl::StatusOr<std::vector<models::TokenId>> block = models::encode_part_block(
      model_notes, kConductorTicksPerQuarter, timeline.bar_start_tick(bar),
      models::TimeSignature{timeline.beats_per_bar(), 4}, static_cast<models::Role>(part));
  if (!block.ok()) return {};
  return models::CommittedPart{std::move(*block), resume_grid};
}

void CommittedNotes::add(const TimedNote& note, const JamTimeline& timeline) {
  by_bar_[timeline.bar_of(note.tick)].push_back(note);
}

std::optional<models::CommittedBar> CommittedNotes::committed_bar(
    int64_t bar, int64_t posted_until_tick, const JamTimeline& timeline) const {
  const int64_t start = timeline.bar_start_tick(bar);
  if (posted_until_tick <= start) return std::nullopt;
  const int64_t bar_grid = timeline.bar_ticks() / kTicksPerGrid;
  // Onsets before posted_until_tick are posted; the first position not posted is its ceiling.
  const auto resume = static_cast<int>(
      std::min(bar_grid, (posted_until_tick - start + kTicksPerGrid - 1) / kTicksPerGrid));
  models::CommittedBar committed;
  committed.chords_resume_grid = resume;
  const auto it = by_bar_.find(bar);
  std::vector<TimedNote> part_notes;
  for (int part = 0; part < models::kNumBandRoles; ++part) {
    part_notes.clear();
    if (it != by_bar_.end()) {
      for (const TimedNote& n : it->second) {
        if (n.part == part && n.tick < posted_until_tick) part_notes.push_back(n);
      }
    }
    committed.parts[static_cast<size_t>(part)] =
        committed_part(part_notes, part, bar, resume, timeline);
  }
  return committed;
}

void CommittedNotes::drop_before(int64_t bar) {
  by_bar_.erase(by_bar_.begin(), by_bar_.lower_bound(bar));
}

void CommittedNotes::drop_from(int64_t tick) {
  for (auto& [bar, notes] : by_bar_) {
    std::erase_if(notes, [&](const TimedNote& n) { return n.tick >= tick; });
  }
}

}  // namespace jamd
