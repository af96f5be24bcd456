// The musician's monitor: what a live host does with the MIDI the musician plays into midi_in
// besides listening to it. Their notes (and sustain pedal) go straight to the band's synth on
// the human channel, in the period they arrive, at their own frame, so a keyboard player hears
// themselves through jamd without a sound of their own. Its volume is an instant control
// (JamState::monitor_volume); the program is fixed for the jam.
//
//   JamHostOptions options;
//   options.monitor = {.enabled = true, .gm_program = 4};   // electric piano
//   if (auto m = monitor_message(heard)) synth.handle(*m);  // thread: rt
//
// Thread safety: plain values and pure functions.
#pragma once

#include <optional>

#include "daemon/conductor/jam_timeline.h"
#include "realtime/io/audio_io.h"

namespace jamd {

struct MonitorOptions {
  bool enabled = true;
  int gm_program = 0;  // General MIDI program 0..127 (0: acoustic grand piano)
};

inline constexpr int kMidiCcSustain = 64;

// The message the monitor plays for one the musician sent: note on, note off and the sustain
// pedal, moved to the human channel (whatever channel the keyboard sends on); nothing else (a
// keyboard's own program or volume changes would override the jam's). thread: any
inline std::optional<realtime::MidiMessage> monitor_message(const realtime::MidiMessage& heard) {
  if (heard.size != 3) return std::nullopt;
  const int status = heard.bytes[0] & 0xF0;
  const bool note = status == 0x80 || status == 0x90;
  const bool sustain = status == 0xB0 && heard.bytes[1] == kMidiCcSustain;
  if (!note && !sustain) return std::nullopt;
  realtime::MidiMessage m = heard;
  m.bytes[0] = static_cast<uint8_t>(status | kHumanChannel);
  return m;
}

}  // namespace jamd
