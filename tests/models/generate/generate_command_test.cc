// `jamd generate` end to end on the bundled model: the MIDI file's tracks, channels and metas,
// byte-identical output for a seed, and clear errors for bad keys, parts, chords, models, paths.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "realtime/midi/midi_file.h"

namespace jamd {
int run_generate(std::span<const char* const> args);  // daemon/commands/generate.cc
namespace {

std::string temp_path(const std::string& name) {
  return testing::TempDir() + "/jamd_generate_" + std::to_string(::getpid()) + "_" + name;
}

struct Result {
  int exit_status;
  std::string stderr_text;
};

Result generate(std::vector<const char*> args) {
  testing::internal::CaptureStderr();
  testing::internal::CaptureStdout();
  const int status = run_generate(args);
  testing::internal::GetCapturedStdout();
  return {status, testing::internal::GetCapturedStderr()};
}

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(GenerateCommand, WritesOneTrackPerPartWithDrumsOnChannel10) {
  const std::string out = temp_path("trio.mid");
  const Result r =
      generate({"--bars", "4", "--tempo", "100", "--key", "C:maj", "--parts", "drums,bass,keys",
                "--chords", "C:maj G:maj", "--seed", "2", "--out", out.c_str()});
  ASSERT_EQ(r.exit_status, 0) << r.stderr_text;
  absl::StatusOr<realtime::MidiFile> midi = realtime::read_midi_file(out);
  ASSERT_TRUE(midi.ok()) << midi.status();
  ASSERT_EQ(midi->tracks.size(), 4u);  // conductor + drums, bass, keys
  bool tempo = false, metre = false;
  for (const realtime::MidiEvent& e : midi->tracks[0].events) {
    if (e.is_meta() && e.meta_type == realtime::kMetaTempo) {
      tempo = true;
      const int us = (e.data[0] << 16) | (e.data[1] << 8) | e.data[2];
      EXPECT_NEAR(60e6 / us, 100.0, 100.0 * 0.04);  // the tempo class centre, within half a class
    }
    if (e.is_meta() && e.meta_type == realtime::kMetaTimeSignature) metre = e.data[0] == 4;
  }
  EXPECT_TRUE(tempo);
  EXPECT_TRUE(metre);
  const std::set<int> want_channel = {9, 1, 2};
  for (size_t t = 1; t < 4; ++t) {
    std::set<int> channels;
    for (const realtime::MidiEvent& e : midi->tracks[t].events) {
      if (!e.is_meta()) channels.insert(e.status & 0x0F);
    }
    EXPECT_LE(channels.size(), 1u) << "track " << t;
    // Every enabled part plays, drums included (in one stream beside the chords with the
    // bundled full-band model; as their own take with an older model).
    const auto note_ons = std::count_if(
        midi->tracks[t].events.begin(), midi->tracks[t].events.end(),
        [](const realtime::MidiEvent& e) { return (e.status & 0xF0) == 0x90 && e.data[1] > 0; });
    EXPECT_GE(note_ons, 4) << "track " << t;
    if (!channels.empty()) {
      EXPECT_TRUE(want_channel.contains(*channels.begin()));
    }
  }
  std::remove(out.c_str());
}

TEST(GenerateCommand, SameSeedSameBytes) {
  const std::string a = temp_path("a.mid"), b = temp_path("b.mid"), c = temp_path("c.mid");
  for (const std::string* out : {&a, &b}) {
    ASSERT_EQ(
        generate({"--bars", "3", "--seed", "11", "--parts", "bass,keys", "--out", out->c_str()})
            .exit_status,
        0);
  }
  ASSERT_EQ(generate({"--bars", "3", "--seed", "12", "--parts", "bass,keys", "--out", c.c_str()})
                .exit_status,
            0);
  EXPECT_EQ(read_bytes(a), read_bytes(b));
  EXPECT_NE(read_bytes(a), read_bytes(c));
  for (const std::string* p : {&a, &b, &c}) std::remove(p->c_str());
}

TEST(GenerateCommand, BadKeyPartOrChordIsAUsageError) {
  const std::string out = temp_path("bad.mid");
  Result r = generate({"--key", "H:maj", "--out", out.c_str()});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.stderr_text.find("unknown key 'H:maj'"), std::string::npos) << r.stderr_text;
  r = generate({"--parts", "drums,tuba", "--out", out.c_str()});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.stderr_text.find("unknown part 'tuba'"), std::string::npos) << r.stderr_text;
  r = generate({"--chords", "C:maj G:sus4", "--out", out.c_str()});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.stderr_text.find("unknown chord 'G:sus4'"), std::string::npos) << r.stderr_text;
  r = generate({"--density", "drums=9", "--out", out.c_str()});
  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.stderr_text.find("bad density 'drums=9'"), std::string::npos) << r.stderr_text;
}

TEST(GenerateCommand, ModelOfAnotherVocabularyIsRefused) {
  // The bundled model with its vocabulary hash (offset 64) changed.
  std::vector<char> bytes = read_bytes(JAMD_SOURCE_DIR "/models/band.jamd");
  ASSERT_GT(bytes.size(), 256u);
  bytes[64] ^= 0x5A;
  const std::string model = temp_path("other.jamd");
  std::ofstream(model, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  const std::string out = temp_path("never.mid");
  const Result r = generate({"--model", model.c_str(), "--bars", "1", "--out", out.c_str()});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_NE(r.stderr_text.find("model was trained with another vocabulary"), std::string::npos)
      << r.stderr_text;
  std::remove(model.c_str());
}

TEST(GenerateCommand, UnwritableOutputNamesThePath) {
  const Result r = generate({"--bars", "1", "--out", "/nonexistent-dir/band.mid"});
  EXPECT_EQ(r.exit_status, 1);
  EXPECT_NE(r.stderr_text.find("/nonexistent-dir/band.mid"), std::string::npos) << r.stderr_text;
}

}  // namespace
}  // namespace jamd
