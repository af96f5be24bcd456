// Tests that the bundled demo song (daemon/data/demo.mid, written by scripts/make_demo_midi.py)
// is the band arrangement `jamd play` expects: 100 BPM, 4/4, five parts with their GM programs.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "realtime/midi/midi_file.h"

namespace jamd::realtime {
namespace {

const std::string kDemoPath = std::string(JAMD_SOURCE_DIR) + "/daemon/data/demo.mid";

TEST(DemoSong, IsFormat1WithAConductorAndFiveParts) {
  absl::StatusOr<MidiFile> song = read_midi_file(kDemoPath);
  ASSERT_TRUE(song.ok()) << song.status();
  EXPECT_EQ(song->format, 1);
  EXPECT_EQ(song->tracks.size(), 6u);
}

TEST(DemoSong, Plays100BpmIn4_4) {
  absl::StatusOr<MidiFile> song = read_midi_file(kDemoPath);
  ASSERT_TRUE(song.ok()) << song.status();
  int n_tempo = 0;
  int n_time_signature = 0;
  for (const MidiEvent& e : song->tracks[0].events) {
    if (e.is_meta() && e.meta_type == kMetaTempo) {
      ++n_tempo;
      ASSERT_EQ(e.data.size(), 3u);
      EXPECT_EQ((e.data[0] << 16) | (e.data[1] << 8) | e.data[2], 600000);  // 60e6 / 100 BPM
    }
    if (e.is_meta() && e.meta_type == kMetaTimeSignature) {
      ++n_time_signature;
      EXPECT_EQ(e.data[0], 4);  // numerator
      EXPECT_EQ(e.data[1], 2);  // denominator as a power of two: quarter notes
    }
  }
  EXPECT_EQ(n_tempo, 1);
  EXPECT_EQ(n_time_signature, 1);
}

TEST(DemoSong, EachPartHasItsOwnChannelProgramAndNotesForEightBars) {
  absl::StatusOr<MidiFile> song = read_midi_file(kDemoPath);
  ASSERT_TRUE(song.ok()) << song.status();
  const uint64_t song_ticks = 8 * 4 * static_cast<uint64_t>(song->ticks_per_quarter);
  std::map<int, int> program_by_channel;
  std::set<int> channels;
  for (size_t t = 1; t < song->tracks.size(); ++t) {
    std::set<int> track_channels;
    uint64_t last_note_on = 0;
    int n_notes = 0;
    for (const MidiEvent& e : song->tracks[t].events) {
      if (e.status >= 0xF0) continue;
      track_channels.insert(e.status & 0x0F);
      if ((e.status & 0xF0) == 0xC0) program_by_channel[e.status & 0x0F] = e.data[0];
      if ((e.status & 0xF0) == 0x90 && e.data[1] > 0) {
        ++n_notes;
        last_note_on = e.tick;
      }
    }
    ASSERT_EQ(track_channels.size(), 1u) << "track " << t;
    EXPECT_TRUE(channels.insert(*track_channels.begin()).second) << "channel shared, track " << t;
    EXPECT_GT(n_notes, 8) << "track " << t;
    EXPECT_GE(last_note_on, song_ticks * 7 / 8) << "track " << t << " stops before bar 8";
    EXPECT_LT(last_note_on, song_ticks) << "track " << t;
  }
  EXPECT_EQ(channels, (std::set<int>{0, 1, 2, 3, 9}));
  EXPECT_EQ(program_by_channel, (std::map<int, int>{{0, 33}, {1, 0}, {2, 89}, {3, 81}}));
}

}  // namespace
}  // namespace jamd::realtime
