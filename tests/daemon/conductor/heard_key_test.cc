// The band plays in the musician's key: with no key set by anyone, the key the listener hears
// becomes the model's key control (a regeneration with cause "key"); a key set by hand wins.
// A musician in F# major (six sharps: far from where an unprompted model likes to start) plays
// four bars and stops; without the heard key the band drifts to a key of its own once it plays
// alone (seed 2: 34 % of its notes in F# major). The bundled model and the real synth, through
// the whole offline loop.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "daemon/conductor/offline_jam.h"
#include "realtime/midi/midi_file.h"
#include "tests/daemon/conductor/chord_take.h"

namespace jamd {
namespace {

constexpr int kTpq = 480;
constexpr int kBars = 8;
constexpr int kFSharp = 6;

// F# B C# D#m, one chord a bar, then silence: the band goes on alone in what it heard.
std::string write_musician() {
  const std::vector<TakeChord> chords = {
      {6, false, 4}, {11, false, 4}, {1, false, 4}, {3, true, 4}};
  const std::string path =
      (std::filesystem::path(::testing::TempDir()) / "heard_key_human.mid").string();
  EXPECT_TRUE(realtime::write_midi_file(path, block_chord_take(110.0, chords, kBars * 4)).ok());
  return path;
}

OfflineJamResult render(int key_tonic, uint64_t seed, const std::string& input = write_musician()) {
  OfflineJamOptions o;
  o.input_path = input;
  o.model_path = JAMD_SOURCE_DIR "/models/band.jamd";
  o.state.seed = seed;
  o.state.key_tonic = key_tonic;
  o.state.density = 0.5f;
  o.state.parts[kPartPad].enabled = false;
  o.state.parts[kPartLead].enabled = false;
  absl::StatusOr<OfflineJamResult> r = render_jam(o);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : OfflineJamResult{};
}

int key_reactions(const OfflineJamResult& r) {
  return static_cast<int>(std::count_if(r.record.reactions.begin(), r.record.reactions.end(),
                                        [](const Reaction& x) { return x.cause == "key"; }));
}

// Share of the band's pitched notes from bar 2 on (the key is heard within the first bars) in
// the major scale on `tonic`.
double in_key(const OfflineJamResult& r, int tonic) {
  constexpr int kMajor[] = {0, 2, 4, 5, 7, 9, 11};
  int in = 0, all = 0;
  for (const TimedNote& n : r.record.band_notes) {
    if (n.part == kPartDrums || n.tick < 2 * 4 * kTpq) continue;
    const int degree = ((n.pitch - tonic) % 12 + 12) % 12;
    in += std::find(std::begin(kMajor), std::end(kMajor), degree) != std::end(kMajor);
    ++all;
  }
  return all ? static_cast<double>(in) / all : 0.0;
}

TEST(HeardKeyTest, BandTakesTheMusiciansKeyWhenNobodySetOne) {
  for (const uint64_t seed : {1u, 2u, 3u}) {
    const OfflineJamResult r = render(/*key_tonic=*/-1, seed);
    const double share = in_key(r, kFSharp);
    std::printf("  [seed %llu] %d key reaction(s); band notes in F# major from bar 2: %.3f\n",
                static_cast<unsigned long long>(seed), key_reactions(r), share);
    EXPECT_GE(key_reactions(r), 1) << "seed " << seed;
    EXPECT_GE(share, 0.9) << "seed " << seed;
  }
}

TEST(HeardKeyTest, TheChordsNameTheKeyFromTheFirstBar) {
  // C G Am F at 100 BPM: the listener's pitch profile names G major (0.94) at 4 s and C major
  // only at 14 s; the chords name C major from the first chord heard, and the loop never moves it
  // (A minor covers the same chords).
  const std::vector<TakeChord> chords = {{0, false, 4}, {7, false, 4}, {9, true, 4}, {5, false, 4},
                                         {0, false, 4}, {7, false, 4}, {9, true, 4}, {5, false, 4}};
  const std::string path =
      (std::filesystem::path(::testing::TempDir()) / "heard_key_loop.mid").string();
  ASSERT_TRUE(realtime::write_midi_file(path, block_chord_take(100.0, chords, 32)).ok());
  const OfflineJamResult r = render(/*key_tonic=*/-1, 1, path);
  ASSERT_FALSE(r.record.heard_keys.empty());
  EXPECT_LT(r.record.heard_keys.front().first, 4 * kTpq) << "the key within the first bar";
  for (const auto& [tick, key] : r.record.heard_keys) {
    EXPECT_EQ(key, (realtime::Key{0, false}))
        << "at tick " << tick << ": " << key.tonic_pc << (key.minor ? " minor" : " major");
  }
}

TEST(HeardKeyTest, AKeySetByHandIsKept) {
  const OfflineJamResult r = render(/*key_tonic=*/0, 1);  // C major, against the musician
  ASSERT_GT(r.record.band_notes.size(), 0u);
  EXPECT_EQ(key_reactions(r), 0);
}

}  // namespace
}  // namespace jamd
