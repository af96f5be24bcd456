// Tests of the Standard MIDI File codec: hand-made bytes for what the parser must accept or
// refuse, and write-then-read round trips for the writer.
#include "realtime/midi/midi_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "tests/realtime/midi/midi_samples.h"

namespace jamd::realtime {
namespace {

using Bytes = std::vector<uint8_t>;

// A header chunk followed by the given chunks.
Bytes header(int format, int n_tracks, int division) {
  return {'M',
          'T',
          'h',
          'd',
          0,
          0,
          0,
          6,
          0,
          static_cast<uint8_t>(format),
          0,
          static_cast<uint8_t>(n_tracks),
          static_cast<uint8_t>(division >> 8),
          static_cast<uint8_t>(division & 0xFF)};
}

Bytes chunk(const char* id, const Bytes& body) {
  const size_t n = body.size();
  Bytes out = {static_cast<uint8_t>(id[0]),   static_cast<uint8_t>(id[1]),
               static_cast<uint8_t>(id[2]),   static_cast<uint8_t>(id[3]),
               static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
               static_cast<uint8_t>(n >> 8),  static_cast<uint8_t>(n)};
  for (uint8_t b : body) out.push_back(b);
  return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes format0(const Bytes& track_body) {
  return concat({header(0, 1, 96), chunk("MTrk", track_body)});
}

const Bytes kEndOfTrack = {0x00, 0xFF, 0x2F, 0x00};

TEST(MidiFile, RunningStatusRepeatsThePreviousChannelStatus) {
  const Bytes body = concat({{0x00, 0x90, 60, 100, 0x60, 62, 90, 0x60, 60, 0}, kEndOfTrack});
  absl::StatusOr<MidiFile> f = parse_midi(format0(body));
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->tracks.size(), 1u);
  const std::vector<MidiEvent>& e = f->tracks[0].events;
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[1].status, 0x90);
  EXPECT_EQ(e[1].tick, 96u);
  EXPECT_EQ(e[1].data, (Bytes{62, 90}));
  // A note-on with velocity 0 stays a note-on: the codec does not rewrite events.
  EXPECT_EQ(e[2].status, 0x90);
  EXPECT_EQ(e[2].tick, 192u);
  EXPECT_EQ(e[2].data, (Bytes{60, 0}));
}

TEST(MidiFile, RunningStatusSurvivesMetaEventsForLenientReading) {
  const Bytes body =
      concat({{0x00, 0x90, 60, 100, 0x00, 0xFF, 0x01, 0x01, 'x', 0x10, 60, 0}, kEndOfTrack});
  absl::StatusOr<MidiFile> f = parse_midi(format0(body));
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->tracks[0].events.size(), 3u);
  EXPECT_EQ(f->tracks[0].events[2].status, 0x90);
}

TEST(MidiFile, ReadsTempoAndTimeSignatureMetaEvents) {
  const Bytes body = concat({{0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20,    // 120 BPM
                              0x00, 0xFF, 0x58, 0x04, 0x03, 0x02, 24, 8},  // 3/4
                             kEndOfTrack});
  absl::StatusOr<MidiFile> f = parse_midi(format0(body));
  ASSERT_TRUE(f.ok()) << f.status();
  const std::vector<MidiEvent>& e = f->tracks[0].events;
  ASSERT_EQ(e.size(), 2u);
  EXPECT_TRUE(e[0].is_meta());
  EXPECT_EQ(e[0].meta_type, kMetaTempo);
  EXPECT_EQ((e[0].data[0] << 16) | (e[0].data[1] << 8) | e[0].data[2], 500000);
  EXPECT_EQ(e[1].meta_type, kMetaTimeSignature);
  EXPECT_EQ(e[1].data, (Bytes{3, 2, 24, 8}));
}

TEST(MidiFile, WriterUsesRunningStatusAndRepeatsStatusAfterMeta) {
  MidiFile f;
  f.format = 0;
  f.ticks_per_quarter = 96;
  f.tracks.resize(1);
  f.tracks[0].events = {midi_samples::channel_event(0, 0x91, {60, 100}),
                        midi_samples::channel_event(10, 0x91, {60, 0}),
                        midi_samples::meta_event(10, kMetaTrackName, {'a'}),
                        midi_samples::channel_event(20, 0x91, {62, 80})};
  const Bytes expected = format0({0x00, 0x91, 60,   100,  0x0A, 60, 0,    0x00, 0xFF, 0x03,
                                  0x01, 'a',  0x0A, 0x91, 62,   80, 0x00, 0xFF, 0x2F, 0x00});
  EXPECT_EQ(serialize_midi(f), expected);
}

TEST(MidiFile, WriterEncodesLongDeltaTimesAsVariableLengthQuantities) {
  MidiFile f;
  f.format = 0;
  f.tracks.resize(1);
  f.tracks[0].events = {midi_samples::channel_event(0x0FFFFFFF, 0xC0, {5})};
  const Bytes bytes = serialize_midi(f);
  const Bytes vlq = {0xFF, 0xFF, 0xFF, 0x7F, 0xC0, 5};
  EXPECT_NE(std::search(bytes.begin(), bytes.end(), vlq.begin(), vlq.end()), bytes.end());
  absl::StatusOr<MidiFile> back = parse_midi(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, f);
}

TEST(MidiFile, Format1WithManyTracksRoundTrips) {
  const MidiFile song = midi_samples::band_song(/*n_parts=*/40, /*n_notes=*/50);
  absl::StatusOr<MidiFile> back = parse_midi(serialize_midi(song));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->tracks.size(), 41u);
  EXPECT_EQ(*back, song);
}

TEST(MidiFile, Format0RoundTrips) {
  const MidiFile song = midi_samples::single_track_song(/*n_notes=*/200);
  absl::StatusOr<MidiFile> back = parse_midi(serialize_midi(song));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->format, 0);
  EXPECT_EQ(back->ticks_per_quarter, 96);
  EXPECT_EQ(*back, song);
}

TEST(MidiFile, EndOfTrackAfterTheLastEventKeepsTrailingSilence) {
  const Bytes body = {0x00, 0xC0, 5, 0x83, 0x60, 0xFF, 0x2F, 0x00};  // end-of-track at tick 480
  absl::StatusOr<MidiFile> f = parse_midi(format0(body));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->tracks[0].end_tick, 480u);
  EXPECT_EQ(serialize_midi(*f), format0(body));
}

TEST(MidiFile, MissingEndOfTrackIsTolerated) {
  absl::StatusOr<MidiFile> f = parse_midi(format0({0x00, 0x90, 60, 100, 0x10, 0x80, 60, 0}));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->tracks[0].events.size(), 2u);
}

TEST(MidiFile, UnknownChunksAreSkipped) {
  const Bytes bytes = concat({header(1, 2, 480), chunk("XFIH", {1, 2, 3}),
                              chunk("MTrk", concat({{0x00, 0xC0, 1}, kEndOfTrack})),
                              chunk("MTrk", concat({{0x00, 0xC1, 2}, kEndOfTrack}))});
  absl::StatusOr<MidiFile> f = parse_midi(bytes);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(f->tracks.size(), 2u);
  EXPECT_EQ(f->tracks[1].events[0].status, 0xC1);
}

TEST(MidiFile, SysexEventsKeepTheirPayload) {
  const Bytes body = concat({{0x00, 0xF0, 0x04, 0x7E, 0x7F, 0x09, 0xF7}, kEndOfTrack});
  absl::StatusOr<MidiFile> f = parse_midi(format0(body));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->tracks[0].events[0].status, 0xF0);
  EXPECT_EQ(f->tracks[0].events[0].data, (Bytes{0x7E, 0x7F, 0x09, 0xF7}));
}

TEST(MidiFile, Format2IsRefusedWithAnExplanation) {
  absl::StatusOr<MidiFile> f = parse_midi(concat({header(2, 1, 96), chunk("MTrk", kEndOfTrack)}));
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("format 2"), absl::string_view::npos) << f.status();
  EXPECT_NE(f.status().message().find("format 1"), absl::string_view::npos) << f.status();
}

TEST(MidiFile, SmpteTimeDivisionIsRefusedWithAnExplanation) {
  absl::StatusOr<MidiFile> f =
      parse_midi(concat({header(0, 1, 0xE728), chunk("MTrk", kEndOfTrack)}));
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("SMPTE"), absl::string_view::npos) << f.status();
}

TEST(MidiFile, ZeroTicksPerQuarterIsRefused) {
  absl::StatusOr<MidiFile> f = parse_midi(concat({header(0, 1, 0), chunk("MTrk", kEndOfTrack)}));
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("byte 12"), absl::string_view::npos) << f.status();
}

TEST(MidiFile, TooManyDeclaredTracksIsRefusedBeforeAllocating) {
  Bytes bytes = header(1, 0, 96);
  bytes[10] = 0xFF;  // 65280 tracks
  absl::StatusOr<MidiFile> f = parse_midi(bytes);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("tracks"), absl::string_view::npos) << f.status();
}

TEST(MidiFile, EveryTruncationIsAnErrorNamingAByteOffset) {
  const Bytes full = serialize_midi(midi_samples::band_song(3, 4));
  for (size_t n = 0; n < full.size(); ++n) {
    absl::StatusOr<MidiFile> f = parse_midi(std::span<const uint8_t>(full.data(), n));
    ASSERT_FALSE(f.ok()) << "prefix of " << n << " bytes parsed";
    ASSERT_NE(f.status().message().find("byte "), absl::string_view::npos) << f.status();
  }
}

TEST(MidiFile, GarbageWithoutAHeaderIsRefused) {
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    Bytes junk(static_cast<size_t>(rng() % 300));
    for (uint8_t& b : junk) b = static_cast<uint8_t>(rng());
    absl::StatusOr<MidiFile> f = parse_midi(junk);
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.status().message().find("MThd"), absl::string_view::npos) << f.status();
  }
}

TEST(MidiFile, GarbageInsideATrackNeverCrashesAndUsuallyErrs) {
  const Bytes clean = serialize_midi(midi_samples::band_song(2, 8));
  std::mt19937 rng(11);
  int n_errors = 0;
  for (int i = 0; i < 2000; ++i) {
    Bytes bytes = clean;
    for (int k = 0; k < 4; ++k)
      bytes[14 + rng() % (bytes.size() - 14)] = static_cast<uint8_t>(rng());
    absl::StatusOr<MidiFile> f = parse_midi(bytes);
    if (!f.ok()) {
      ++n_errors;
      continue;
    }
    // Whatever parses must write back and read back as the same events.
    absl::StatusOr<MidiFile> back = parse_midi(serialize_midi(*f));
    ASSERT_TRUE(back.ok()) << back.status();
    ASSERT_EQ(*back, *f);
  }
  EXPECT_GT(n_errors, 0);
}

TEST(MidiFile, SystemRealTimeByteInATrackIsAnErrorAtItsOffset) {
  absl::StatusOr<MidiFile> f = parse_midi(format0({0x00, 0xF8, 0x00, 0xFF, 0x2F, 0x00}));
  ASSERT_FALSE(f.ok());
  // 14 header bytes + 8 chunk header bytes + 1 delta byte.
  EXPECT_NE(f.status().message().find("byte 23"), absl::string_view::npos) << f.status();
  EXPECT_NE(f.status().message().find("0xF8"), absl::string_view::npos) << f.status();
}

TEST(MidiFile, DataByteWithoutAnyStatusIsAnError) {
  absl::StatusOr<MidiFile> f = parse_midi(format0({0x00, 0x3C, 0x40, 0x00, 0xFF, 0x2F, 0x00}));
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("no status byte"), absl::string_view::npos) << f.status();
}

TEST(MidiFile, OverlongDeltaTimeIsAnError) {
  absl::StatusOr<MidiFile> f = parse_midi(format0({0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0xC0, 1}));
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("4 bytes"), absl::string_view::npos) << f.status();
}

TEST(MidiFile, MetaLengthPastTheChunkEndIsAnError) {
  absl::StatusOr<MidiFile> f = parse_midi(format0({0x00, 0xFF, 0x03, 0x7F, 'a', 'b'}));
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("127 bytes"), absl::string_view::npos) << f.status();
}

TEST(MidiFile, MissingFileIsAOneLineErrorNamingThePath) {
  absl::StatusOr<MidiFile> f = read_midi_file("/nonexistent/jamd/song.mid");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kNotFound);
  const std::string message(f.status().message());
  EXPECT_NE(message.find("/nonexistent/jamd/song.mid"), std::string::npos) << message;
  EXPECT_NE(message.find("check the path"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

class MidiFileOnDisk : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "jamd_midi_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(MidiFileOnDisk, WrittenFileReadsBackEqual) {
  const MidiFile song = midi_samples::band_song(5, 16);
  const std::string path = (dir_ / "song.mid").string();
  ASSERT_TRUE(write_midi_file(path, song).ok());
  absl::StatusOr<MidiFile> back = read_midi_file(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, song);
}

TEST_F(MidiFileOnDisk, CorruptFileErrorNamesThePathAndOffset) {
  const std::string path = (dir_ / "bad.mid").string();
  Bytes bytes = serialize_midi(midi_samples::band_song(1, 4));
  bytes.resize(bytes.size() - 5);
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }
  absl::StatusOr<MidiFile> f = read_midi_file(path);
  ASSERT_FALSE(f.ok());
  const std::string message(f.status().message());
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("byte "), std::string::npos) << message;
  EXPECT_NE(message.find("cut short"), std::string::npos) << message;
}

TEST_F(MidiFileOnDisk, DirectoryIsRefused) {
  absl::StatusOr<MidiFile> f = read_midi_file(dir_.string());
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("directory"), absl::string_view::npos) << f.status();
}

TEST_F(MidiFileOnDisk, FifoIsRefusedInsteadOfBlocking) {
  const std::string path = (dir_ / "pipe.mid").string();
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  absl::StatusOr<MidiFile> f = read_midi_file(path);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("not a regular file"), absl::string_view::npos) << f.status();
}

TEST_F(MidiFileOnDisk, InvalidSongIsNotWritten) {
  MidiFile song = midi_samples::band_song(1, 4);
  std::swap(song.tracks[1].events.front(), song.tracks[1].events.back());  // ticks out of order
  const std::string path = (dir_ / "unsorted.mid").string();
  absl::Status s = write_midi_file(path, song);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("sort"), absl::string_view::npos) << s;
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(MidiFile, ValidateRefusesExplicitEndOfTrackEvents) {
  MidiFile song = midi_samples::band_song(1, 2);
  song.tracks[0].events.push_back(midi_samples::meta_event(0, kMetaEndOfTrack, {}));
  EXPECT_FALSE(validate_midi(song).ok());
}

TEST(MidiFile, ValidateRefusesFormat0WithSeveralTracks) {
  MidiFile song = midi_samples::band_song(2, 2);
  song.format = 0;
  absl::Status s = validate_midi(song);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("format 1"), absl::string_view::npos) << s;
}

}  // namespace
}  // namespace jamd::realtime
