// libFuzzer target for the MIDI file parser: any input must parse or fail cleanly, and whatever
// parses must validate, write, and read back as the same events.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "realtime/midi/midi_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace jamd::realtime;
  absl::StatusOr<MidiFile> song = parse_midi(std::span<const uint8_t>(data, size));
  if (!song.ok()) return 0;
  if (absl::Status s = validate_midi(*song); !s.ok()) {
    std::fprintf(stderr, "parsed file does not validate: %s\n", std::string(s.message()).c_str());
    std::abort();
  }
  absl::StatusOr<MidiFile> back = parse_midi(serialize_midi(*song));
  if (!back.ok() || !(*back == *song)) {
    std::fprintf(stderr, "round trip changed the file\n");
    std::abort();
  }
  return 0;
}
