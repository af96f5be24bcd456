// MusicianSpace: register, density and phrase gaps of the musician's last bar, applied to the
// notes the band commits.
#include "daemon/conductor/musician_space.h"

#include <algorithm>
#include <cstdint>

namespace jamd {
namespace {

// Note-ons closer than this (a 48th at 480 per quarter) count as one onset (a chord).
constexpr int64_t kSameOnsetTicks = 10;
// Semitones kept clear either side of the musician's range.
constexpr int kRegisterMargin = 2;
// The musician's phrase is over after this much silence (in beats): the lead may answer.
constexpr double kPhraseGapBeats = 1.0;

}  // namespace

MusicianSpace::MusicianSpace(const AccompanyOptions& options, int64_t bar_ticks, int64_t beat_ticks)
    : options_(options), bar_ticks_(bar_ticks), beat_ticks_(beat_ticks) {}

void MusicianSpace::hear_note(int64_t tick, int pitch) {
  recent_.push_back(Heard{tick, pitch});
  forget_before(tick - bar_ticks_);
}

void MusicianSpace::forget_before(int64_t tick) {
  while (!recent_.empty() && recent_.front().tick < tick) recent_.pop_front();
}

std::optional<TimedNote> MusicianSpace::shape(const TimedNote& note, int64_t now_tick, JamMode mode,
                                              bool musician_holds) {
  forget_before(now_tick - bar_ticks_);
  const bool upper_part = note.part == kPartKeys || note.part == kPartPad || note.part == kPartLead;
  if (!upper_part || mode == JamMode::kContinue) return note;
  if (mode == JamMode::kCallAndResponse && note.part == kPartLead) {
    const bool in_phrase =
        musician_holds ||
        (!recent_.empty() && static_cast<double>(now_tick - recent_.back().tick) <
                                 kPhraseGapBeats * static_cast<double>(beat_ticks_));
    if (in_phrase) return std::nullopt;
  }
  if (recent_.empty()) return note;  // the musician rests: the band has the room
  TimedNote shaped = note;
  if (options_.thin_when_dense) {
    // Onsets, not notes: a chord struck on every beat is one onset a beat.
    int onsets = 0;
    for (size_t i = 0; i < recent_.size(); ++i) {
      onsets += i == 0 || recent_[i].tick - recent_[i - 1].tick > kSameOnsetTicks;
    }
    const double per_beat = static_cast<double>(onsets) * static_cast<double>(beat_ticks_) /
                            static_cast<double>(bar_ticks_);
    if (per_beat >= options_.dense_onsets_per_beat && shaped.tick % beat_ticks_ != 0) {
      return std::nullopt;
    }
  }
  if (options_.leave_register) {
    int lo = 127, hi = 0;
    for (const Heard& h : recent_) {
      lo = std::min(lo, h.pitch);
      hi = std::max(hi, h.pitch);
    }
    lo -= kRegisterMargin;
    hi += kRegisterMargin;
    // Out by octaves toward the nearer edge (the harmony stays); dropped if no octave fits.
    const int step = shaped.pitch - lo < hi - shaped.pitch ? -12 : 12;
    for (int i = 0; i < 3 && shaped.pitch >= lo && shaped.pitch <= hi; ++i) shaped.pitch += step;
    if (shaped.pitch >= lo && shaped.pitch <= hi) return std::nullopt;
    if (shaped.pitch < 21 || shaped.pitch > 108) return std::nullopt;  // off the piano
  }
  return shaped;
}

}  // namespace jamd
