// InstantControls: the part of a JamState that bypasses generation (mute, volume, master volume,
// the musician's monitor volume, stop) in the trivially copyable form the RT thread pops from its
// command queue, and the MIDI channel messages that apply it. ARCHITECTURE.md: "Instant controls
// (mute a part, volume, stop) bypass generation and apply at the next audio period."
//
//   InstantControls c = instant_controls_of(state);     // any thread
//   controls_queue.try_push(c);                          // the producer (under the host's lock)
//
// Thread safety: plain values and pure functions.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

#include "daemon/conductor/jam_timeline.h"
#include "daemon/jam/jam_state.h"
#include "realtime/io/audio_io.h"

namespace jamd {

inline constexpr int kMidiCcVolume = 7;         // MIDI CC 7, channel volume
inline constexpr int kMidiCcAllNotesOff = 123;  // MIDI CC 123

struct InstantControls {
  std::array<uint8_t, kNumParts> volume_cc{};  // CC 7 value per part: volume x master, 0 if muted
  std::array<bool, kNumParts> muted{};
  uint8_t monitor_volume_cc = 0;  // CC 7 of the human channel: monitor volume x master
  bool playing = true;
  bool operator==(const InstantControls&) const = default;
};

// The same rule as JamTimeline::send_mix, so the conductor's later copy changes nothing.
inline InstantControls instant_controls_of(const JamState& state) {
  InstantControls c;
  for (size_t p = 0; p < kNumParts; ++p) {
    const PartState& part = state.parts[p];
    const float level =
        part.muted ? 0.0f : std::clamp(part.volume * state.master_volume, 0.0f, 1.0f);
    c.volume_cc[p] = static_cast<uint8_t>(std::lround(level * 127));
    c.muted[p] = part.muted;
  }
  const float monitor = std::clamp(state.monitor_volume * state.master_volume, 0.0f, 1.0f);
  c.monitor_volume_cc = static_cast<uint8_t>(std::lround(monitor * 127));
  c.playing = state.playing;
  return c;
}

inline realtime::MidiMessage controller_message(int channel, int controller, int value) {
  realtime::MidiMessage m;
  m.size = 3;
  m.bytes[0] = static_cast<uint8_t>(0xB0 | (channel & 0x0F));
  m.bytes[1] = static_cast<uint8_t>(controller & 0x7F);
  m.bytes[2] = static_cast<uint8_t>(value & 0x7F);
  return m;
}

// The part a MIDI channel carries (kPartChannel's inverse), or -1 (the musician's channel or
// one the band does not use).
inline int part_of_channel(int channel) {
  for (size_t p = 0; p < kNumParts; ++p) {
    if (kPartChannel[p] == channel) return static_cast<int>(p);
  }
  return -1;
}

}  // namespace jamd
