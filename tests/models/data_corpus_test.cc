// Real corpora through the whole path: POP909 and Groove MIDI -> Score -> tokens -> Score equals
// the quantized score, with roles, chords, keys and styles where the annotations put them.
// The tarballs in ../shared/data are unpacked into a temporary folder at test time.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <tuple>

#include "gtest/gtest.h"
#include "models/data/corpora.h"
#include "models/data/drum_pairing.h"
#include "models/tokenizer/harmony.h"
#include "models/tokenizer/tokenizer.h"

namespace jamd::models::data {
namespace {

namespace fs = std::filesystem;

constexpr int kPopSongs = 12;
constexpr int kGrooveFiles = 60;

class CorpusTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    const fs::path data = JAMD_SHARED_DATA_DIR;
    const fs::path pop = data / "pop909/pop909-midi-annotations.tar.gz";
    const fs::path groove = data / "groove/groove-midi-v1.0.0.tar.gz";
    if (!fs::exists(pop) || !fs::exists(groove)) {
      missing_ = "the staged corpora are missing: expected " + pop.string() + " and " +
                 groove.string() + " (../shared/data next to the repository)";
      return;
    }
    char pattern[] = "/tmp/jamd_corpus_XXXXXX";
    dir_ = mkdtemp(pattern);
    std::string members;
    for (int i = 1; i <= kPopSongs; ++i) {
      char name[32];
      std::snprintf(name, sizeof(name), " POP909/%03d", i);
      members += name;
    }
    const std::string untar_pop = "tar -xzf '" + pop.string() + "' -C '" + dir_ + "'" + members;
    const std::string untar_groove = "tar -xzf '" + groove.string() + "' -C '" + dir_ +
                                     "' groove/info.csv groove/drummer1/eval_session "
                                     "groove/drummer1/session1";
    const std::string untar_folk =
        "tar -xzf '" + (data / "nottingham/nottingham-midi.tar.gz").string() + "' -C '" + dir_ +
        "' MIDI/jigs1.mid MIDI/jigs2.mid "
        "MIDI/waltzes1.mid MIDI/reelsa-c1.mid MIDI/hpps1.mid";
    if (std::system(untar_pop.c_str()) != 0 || std::system(untar_groove.c_str()) != 0 ||
        std::system(untar_folk.c_str()) != 0) {
      missing_ = "could not unpack the corpora with tar into " + dir_;
    }
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void SetUp() override { ASSERT_TRUE(missing_.empty()) << missing_; }

  // decode(encode(score)) == quantize(score); returns the number of tokens.
  static size_t expect_round_trip(const Score& score, const std::string& what) {
    absl::StatusOr<std::vector<TokenId>> tokens = encode(score);
    EXPECT_TRUE(tokens.ok()) << what << ": " << tokens.status();
    if (!tokens.ok()) return 0;
    absl::StatusOr<Score> back = decode(*tokens);
    EXPECT_TRUE(back.ok()) << what << ": " << back.status();
    absl::StatusOr<Score> expected = quantize(score);
    EXPECT_TRUE(expected.ok()) << what;
    if (back.ok() && expected.ok()) {
      EXPECT_EQ(back->bars, expected->bars) << what;
      EXPECT_EQ(back->chords, expected->chords) << what;
      EXPECT_EQ(back->notes, expected->notes) << what;
    }
    return tokens->size();
  }

  static std::string dir_;
  static std::string missing_;
};
std::string CorpusTest::dir_;
std::string CorpusTest::missing_;

TEST_F(CorpusTest, Pop909SongsRoundTripAfterQuantization) {
  size_t n_tokens = 0;
  size_t n_bars = 0;
  for (int i = 1; i <= kPopSongs; ++i) {
    char id[8];
    std::snprintf(id, sizeof(id), "%03d", i);
    absl::StatusOr<Score> song = load_pop909_song(dir_ + "/POP909/" + id);
    ASSERT_TRUE(song.ok()) << id << ": " << song.status();
    n_tokens += expect_round_trip(*song, std::string("POP909 ") + id);
    n_bars += song->bars.size();
  }
  std::cout << "POP909: " << n_bars << " bars, " << n_tokens << " tokens, "
            << static_cast<double>(n_tokens) / n_bars << " tokens per bar\n";
}

TEST_F(CorpusTest, Pop909RolesChordsAndKeysComeFromTheAnnotations) {
  absl::StatusOr<Score> song = load_pop909_song(dir_ + "/POP909/001");
  ASSERT_TRUE(song.ok()) << song.status();
  int per_role[kNumRoles] = {};
  for (const Note& n : song->notes) {
    ++per_role[static_cast<int>(n.role)];
    if (n.role == Role::kBass) {
      EXPECT_LT(n.pitch, kBassMaxPitch);
    }
  }
  EXPECT_EQ(per_role[static_cast<int>(Role::kDrums)], 0);
  EXPECT_GT(per_role[static_cast<int>(Role::kBass)], 100);
  EXPECT_GT(per_role[static_cast<int>(Role::kKeys)], per_role[static_cast<int>(Role::kBass)]);
  EXPECT_GT(per_role[static_cast<int>(Role::kLead)], 100);
  EXPECT_GT(per_role[static_cast<int>(Role::kPad)], 0);
  EXPECT_GT(song->chords.size(), 20u);
  // 001 is annotated in Gb major (key_audio.txt).
  EXPECT_EQ(song->bars[10].controls.key, 6);
  EXPECT_EQ(song->bars[10].controls.style, style_index("pop"));
}

// The chord at `tick` in sorted spans (no chord before the first).
ChordSpan chord_at(const std::vector<ChordSpan>& spans, int64_t tick) {
  ChordSpan c;
  for (const ChordSpan& s : spans) {
    if (s.start_ticks > tick) break;
    c = s;
  }
  return c;
}

// The estimators against POP909's annotations: beat by beat for chords (same root, and same
// triad family: major-type vs minor-type), song by song for keys (same tonic and mode).
TEST_F(CorpusTest, EstimatedHarmonyAgreesWithPop909Annotations) {
  int beats = 0;
  int root_agree = 0;
  int chord_agree = 0;
  int keys_agree = 0;
  auto major_type = [](ChordQuality q) {
    return q == ChordQuality::kMaj || q == ChordQuality::kDom7 || q == ChordQuality::kMaj7;
  };
  for (int i = 1; i <= kPopSongs; ++i) {
    char id[8];
    std::snprintf(id, sizeof(id), "%03d", i);
    absl::StatusOr<Score> song = load_pop909_song(dir_ + "/POP909/" + id);
    ASSERT_TRUE(song.ok()) << song.status();
    const std::vector<ChordSpan> estimated = estimate_chords(*song, song->ticks_per_beat);
    const int64_t end = bar_start_ticks(*song).back();
    for (int64_t t = 0; t < end; t += song->ticks_per_beat) {
      const ChordSpan truth = chord_at(song->chords, t);
      if (truth.root_pitch_class < 0) continue;
      const ChordSpan guess = chord_at(estimated, t);
      ++beats;
      if (guess.root_pitch_class == truth.root_pitch_class) {
        ++root_agree;
        if (major_type(guess.quality) == major_type(truth.quality)) ++chord_agree;
      }
    }
    const int annotated_key = song->bars[song->bars.size() / 2].controls.key;
    keys_agree += estimate_key(song->notes) == annotated_key ? 1 : 0;
  }
  const double root_share = static_cast<double>(root_agree) / beats;
  const double chord_share = static_cast<double>(chord_agree) / beats;
  std::cout << "estimated chords on " << beats << " annotated beats: root " << root_share
            << ", root and family " << chord_share << "; keys " << keys_agree << " of " << kPopSongs
            << "\n";
  EXPECT_GT(chord_share, 0.75);              // 0.87 when written
  EXPECT_GE(keys_agree, kPopSongs * 2 / 3);  // 10 of 12 when written
}

TEST_F(CorpusTest, NottinghamTunesRoundTripWithEstimatedChords) {
  for (const char* name : {"jigs1", "jigs2", "waltzes1", "reelsa-c1", "hpps1"}) {
    absl::StatusOr<Score> tune = load_nottingham_tune(dir_ + "/MIDI/" + name + ".mid");
    ASSERT_TRUE(tune.ok()) << name << ": " << tune.status();
    expect_round_trip(*tune, name);
    EXPECT_GT(tune->chords.size(), 4u) << name;
    ASSERT_FALSE(tune->bars.empty());
    EXPECT_NE(tune->bars[0].controls.key, kAnyClass) << name;
    EXPECT_EQ(tune->bars[0].controls.style, style_index("folk"));
    int lead = 0;
    for (const Note& n : tune->notes) lead += n.role == Role::kLead ? 1 : 0;
    EXPECT_GT(lead, 20) << name;
  }
}

TEST_F(CorpusTest, GroovePerformancesRoundTripWithTheirStyle) {
  absl::StatusOr<std::vector<GrooveEntry>> index = read_groove_index(dir_ + "/groove/info.csv");
  ASSERT_TRUE(index.ok()) << index.status();
  size_t n_tokens = 0;
  size_t n_bars = 0;
  int n_files = 0;
  for (const GrooveEntry& e : *index) {
    if (!fs::exists(dir_ + "/groove/" + e.midi_filename) || n_files == kGrooveFiles) continue;
    absl::StatusOr<Score> beat = load_groove_performance(dir_ + "/groove", e);
    ASSERT_TRUE(beat.ok()) << e.midi_filename << ": " << beat.status();
    ++n_files;
    for (const Note& n : beat->notes) ASSERT_EQ(n.role, Role::kDrums);
    ASSERT_FALSE(beat->bars.empty());
    const int style = style_index(e.style) >= 0 ? style_index(e.style) : style_index("other");
    EXPECT_EQ(beat->bars[0].controls.style, style) << e.midi_filename;
    n_tokens += expect_round_trip(*beat, e.midi_filename);
    n_bars += beat->bars.size();
  }
  EXPECT_EQ(n_files, kGrooveFiles);
  std::cout << "Groove: " << n_files << " files, " << n_bars << " bars, " << n_tokens << " tokens, "
            << static_cast<double>(n_tokens) / n_bars << " tokens per bar\n";
}

// jamd-prepare's drum pairing on real songs and real drummers: every bar where a paired song
// plays has drums, the pitched parts are untouched, and the result still round-trips.
TEST_F(CorpusTest, Pop909SongsPairWithGrooveDrumsInEveryPlayingBar) {
  absl::StatusOr<std::vector<GrooveEntry>> index = read_groove_index(dir_ + "/groove/info.csv");
  ASSERT_TRUE(index.ok()) << index.status();
  DrumPool pool;
  for (GrooveEntry e : *index) {
    if (!fs::exists(dir_ + "/groove/" + e.midi_filename)) continue;
    absl::StatusOr<Score> beat = load_groove_performance(dir_ + "/groove", e);
    ASSERT_TRUE(beat.ok()) << e.midi_filename << ": " << beat.status();
    e.split = "train";  // one pool for the few unpacked sessions
    pool.add(*beat, e);
  }
  ASSERT_GT(pool.sources().size(), 10u);
  int paired = 0;
  for (int i = 1; i <= kPopSongs; ++i) {
    char id[8];
    std::snprintf(id, sizeof(id), "%03d", i);
    absl::StatusOr<Score> song = load_pop909_song(dir_ + "/POP909/" + id);
    ASSERT_TRUE(song.ok()) << id << ": " << song.status();
    Score drums = *song;
    const DrumPairing pairing = pair_drums(&drums, pool, "train", std::string("pop909/") + id, 1);
    Score again = *song;
    pair_drums(&again, pool, "train", std::string("pop909/") + id, 1);
    EXPECT_EQ(again, drums) << id << ": the same seed gives the same drums";
    if (!pairing.paired) continue;
    ++paired;
    EXPECT_LE(pairing.tolerance, kPairTempoTolerances[1]);
    const std::vector<int64_t> starts = bar_start_ticks(drums);
    std::vector<int> pitched_onsets(drums.bars.size()), drum_onsets(drums.bars.size());
    std::vector<Note> pitched;
    for (const Note& n : drums.notes) {
      const size_t bar = static_cast<size_t>(
          std::upper_bound(starts.begin(), starts.end(), n.start_ticks) - starts.begin() - 1);
      ASSERT_LT(bar, drums.bars.size()) << id;
      (n.role == Role::kDrums ? drum_onsets : pitched_onsets)[bar]++;
      if (n.role != Role::kDrums) pitched.push_back(n);
    }
    for (size_t b = 0; b < drums.bars.size(); ++b) {
      if (pitched_onsets[b] > 0) {
        EXPECT_GT(drum_onsets[b], 0) << id << " bar " << b;
      }
      EXPECT_EQ(drums.bars[b].controls.style, style_index(pairing.style) >= 0
                                                  ? style_index(pairing.style)
                                                  : style_index("other"));
      EXPECT_EQ(drums.bars[b].controls.density_class[0] > 0, drum_onsets[b] > 0) << id << b;
    }
    std::vector<Note> original = song->notes;
    auto by_time = [](const Note& a, const Note& b) {
      return std::tie(a.start_ticks, a.pitch, a.role) < std::tie(b.start_ticks, b.pitch, b.role);
    };
    std::sort(original.begin(), original.end(), by_time);
    std::sort(pitched.begin(), pitched.end(), by_time);
    EXPECT_EQ(pitched, original) << id << ": the pitched parts are untouched";
    expect_round_trip(drums, std::string("paired ") + id);
  }
  EXPECT_GE(paired, kPopSongs / 2) << "most 4/4 songs find a drummer within 25 % of their tempo";
}

}  // namespace
}  // namespace jamd::models::data
