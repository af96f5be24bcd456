// HeardChordKey: counts heard chord-beats per key (diatonic membership) and picks the best key.
#include "daemon/conductor/heard_chord_key.h"

#include <array>
#include <cstdint>
#include <initializer_list>
#include <tuple>

namespace jamd {
namespace {

using realtime::Chord;
using realtime::ChordQuality;
using realtime::Key;

// The chord's intervals above its root, as 12 bits.
uint16_t chord_intervals(ChordQuality quality) {
  const auto bits = [](std::initializer_list<int> intervals) {
    uint16_t b = 0;
    for (const int i : intervals) b = static_cast<uint16_t>(b | 1u << i);
    return b;
  };
  switch (quality) {
    case ChordQuality::kNone:
      return 0;
    case ChordQuality::kMajor:
      return bits({0, 4, 7});
    case ChordQuality::kMinor:
      return bits({0, 3, 7});
    case ChordQuality::kDominant7:
      return bits({0, 4, 7, 10});
    case ChordQuality::kMinor7:
      return bits({0, 3, 7, 10});
    case ChordQuality::kMajor7:
      return bits({0, 4, 7, 11});
    case ChordQuality::kDiminished:
      return bits({0, 3, 6});
  }
  return 0;
}

uint16_t rotate(uint16_t bits, int by) {
  by = (by % 12 + 12) % 12;
  return static_cast<uint16_t>(((bits << by) | (bits >> (12 - by))) & 0xFFF);
}

constexpr uint16_t kMajorScale = 0b1010'1011'0101;  // C D E F G A B, bit 0 = C
constexpr uint16_t kMinorScale = 0b0101'1010'1101;  // C D Eb F G Ab Bb

bool is_tonic_chord(const Chord& chord, const Key& key) {
  const bool minor_triad =
      chord.quality == ChordQuality::kMinor || chord.quality == ChordQuality::kMinor7;
  const bool major_triad = chord.quality == ChordQuality::kMajor ||
                           chord.quality == ChordQuality::kMajor7 ||
                           chord.quality == ChordQuality::kDominant7;
  return chord.root_pc == key.tonic_pc && (key.minor ? minor_triad : major_triad);
}

}  // namespace

bool diatonic(const Chord& chord, const Key& key) {
  const uint16_t tones = rotate(chord_intervals(chord.quality), chord.root_pc);
  if (tones == 0) return false;
  const uint16_t scale = rotate(key.minor ? kMinorScale : kMajorScale, key.tonic_pc);
  if ((tones & ~scale) == 0) return true;
  return key.minor && chord.root_pc == (key.tonic_pc + 7) % 12 &&
         (chord.quality == ChordQuality::kMajor || chord.quality == ChordQuality::kDominant7);
}

void HeardChordKey::hear(const Chord& chord) {
  if (chord.quality == ChordQuality::kNone) return;
  beats_.push_back(chord);
  if (beats_.size() > kWindowBeats) beats_.pop_front();
  const std::optional<Key> best = best_key();
  if (!key_ || covered_beats(*best) > covered_beats(*key_)) key_ = best;
}

int HeardChordKey::covered_beats(const Key& key) const {
  int covered = 0;
  for (const Chord& c : beats_) covered += diatonic(c, key);
  return covered;
}

std::optional<Key> HeardChordKey::best_key() const {
  if (beats_.empty()) return std::nullopt;
  // (covered beats, tonic chord first, tonic beats, major): the larger wins.
  using Score = std::tuple<int, bool, int, bool>;
  std::optional<Key> best;
  Score best_score{};
  for (int k = 0; k < 24; ++k) {
    const Key key{k % 12, k >= 12};
    int tonic_beats = 0;
    for (const Chord& c : beats_) tonic_beats += is_tonic_chord(c, key);
    const Score score{covered_beats(key), is_tonic_chord(beats_.front(), key), tonic_beats,
                      !key.minor};
    if (!best || score > best_score) {
      best = key;
      best_score = score;
    }
  }
  return best;
}

}  // namespace jamd
