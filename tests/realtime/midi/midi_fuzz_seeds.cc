// Writes the MIDI fuzzer's seed corpus: small files from the writer covering every event kind.
//   midi_fuzz_seeds OUT_DIR
#include <cstdio>
#include <string>

#include "realtime/midi/midi_file.h"
#include "tests/realtime/midi/midi_samples.h"

int main(int argc, char** argv) {
  using namespace jamd::realtime;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const struct {
    const char* name;
    MidiFile song;
  } seeds[] = {
      {"format0.mid", midi_samples::single_track_song(6)},
      {"format1.mid", midi_samples::band_song(3, 4)},
      {"many_tracks.mid", midi_samples::band_song(17, 1)},
  };
  for (const auto& seed : seeds) {
    if (absl::Status s = write_midi_file(dir + "/" + seed.name, seed.song); !s.ok()) {
      std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  return 0;
}
