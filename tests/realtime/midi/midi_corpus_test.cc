// Every MIDI file of the POP909 and Groove corpora (../shared/data) parses and round-trips:
// written back, read again, the same events. The archives are extracted into a temp dir.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "realtime/midi/midi_file.h"

namespace jamd::realtime {
namespace {

namespace fs = std::filesystem;

const fs::path kSharedData = JAMD_SHARED_DATA_DIR;

struct CorpusResult {
  int n_files = 0;
  int n_format0 = 0;
  int n_format1 = 0;
  size_t n_events = 0;
};

bool is_midi_path(const fs::path& p) {
  std::string ext = p.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".mid" || ext == ".midi";
}

// Extracts the MIDI files of `archive` into a fresh temp dir, parses and round-trips each one.
void check_corpus(const fs::path& archive, CorpusResult* result) {
  ASSERT_TRUE(fs::exists(archive))
      << archive << " is missing: the corpora live in ../shared/data next to the repository; "
      << "check out shared/ beside it (see README.md)";
  std::string dir = (fs::temp_directory_path() / "jamd_corpus_XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string command = "tar -xzf '" + archive.string() + "' -C '" + dir +
                              "' --wildcards --no-anchored '*.mid' '*.midi' 2>/dev/null";
  // tar exits non-zero when one of the patterns matches nothing; the count below is the check.
  (void)std::system(command.c_str());
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file() || !is_midi_path(entry.path())) continue;
    absl::StatusOr<MidiFile> song = read_midi_file(entry.path().string());
    ASSERT_TRUE(song.ok()) << song.status();
    absl::StatusOr<MidiFile> back = parse_midi(serialize_midi(*song));
    ASSERT_TRUE(back.ok()) << entry.path() << ": " << back.status();
    ASSERT_TRUE(*back == *song) << entry.path() << " changed in a write-read round trip";
    ++result->n_files;
    (song->format == 0 ? result->n_format0 : result->n_format1) += 1;
    for (const MidiTrack& t : song->tracks) result->n_events += t.events.size();
  }
  fs::remove_all(dir);
}

TEST(MidiCorpus, EveryPop909FileParsesAndRoundTrips) {
  CorpusResult r;
  check_corpus(kSharedData / "pop909" / "pop909-midi-annotations.tar.gz", &r);
  std::printf("POP909: %d files (%d format 0, %d format 1), %zu events\n", r.n_files, r.n_format0,
              r.n_format1, r.n_events);
  EXPECT_EQ(r.n_files, 909);
}

TEST(MidiCorpus, EveryGrooveFileParsesAndRoundTrips) {
  CorpusResult r;
  check_corpus(kSharedData / "groove" / "groove-midi-v1.0.0.tar.gz", &r);
  std::printf("Groove: %d files (%d format 0, %d format 1), %zu events\n", r.n_files, r.n_format0,
              r.n_format1, r.n_events);
  EXPECT_EQ(r.n_files, 1150);
}

}  // namespace
}  // namespace jamd::realtime
