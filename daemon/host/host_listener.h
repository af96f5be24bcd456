// HostListener: the listener thread's work for a live jam. It drains the capture rings the RT
// thread fills (in_1/in_2 audio, midi_in), feeds them to realtime::Listener on the jam's clock,
// posts every HeardEvent to the conductor, publishes the heard notes (paired on/off) and the
// input audio through the TapFanout, and keeps the picture `jamd jam` prints (chord, playing).
//
//   HostListener listener(rings, conductor, jam_id, fanout, {.sample_rate_hz = 48000});
//   while (running) { listener.drain(scheduler.playhead_frame()); sleep(5 ms); }
//
// Thread safety: drain() on the listener thread only (the capture rings' one consumer);
// picture() from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "daemon/conductor/conductor.h"
#include "daemon/host/host_callback.h"
#include "daemon/host/tap_fanout.h"
#include "realtime/jack/jack_io.h"
#include "realtime/listen/listener.h"

namespace jamd {

struct HostListenerOptions {
  uint32_t sample_rate_hz = 48000;
  bool audio_input = false;  // the I/O has real inputs (JACK): analyse in_1/in_2
  int beats_per_bar = 4;
  double tempo_bpm = 120.0;
  // JACK's own MIDI-in ring, emptied (unread) so that it never fills and counts drops: the
  // host reads MIDI from its capture ring instead. May be null.
  realtime::JackIo* jack = nullptr;
};

struct ListenerPicture {
  std::string chord = "N";
  bool musician_playing = false;
};

class HostListener {
 public:
  HostListener(realtime::AudioRing& capture,
               realtime::SpscRing<realtime::TimedMidiMessage>& midi_in, Conductor& conductor,
               JamId id, TapFanout& fanout, const HostListenerOptions& options);

  // Analyses what was captured; `playhead_frame` bounds the MIDI-only analysis. thread: listener
  void drain(uint64_t playhead_frame);
  ListenerPicture picture() const;  // thread: any

 private:
  void hear(const std::vector<realtime::HeardEvent>& events);

  realtime::AudioRing& capture_;
  realtime::SpscRing<realtime::TimedMidiMessage>& midi_in_;
  Conductor& conductor_;
  const JamId id_;
  TapFanout& fanout_;
  const HostListenerOptions options_;
  realtime::Listener listener_;
  // Listener thread.
  std::vector<realtime::TimedMidiMessage> midi_pending_;
  std::vector<float> interleaved_, left_, right_;
  uint64_t frames_heard_ = 0;              // audio frames fed (the jam's clock)
  std::array<int64_t, 128> held_onset_{};  // frame + 1 of a sounding heard note; 0: none
  std::array<int, 128> held_velocity_{};
  int64_t last_note_frame_ = -1;
  uint64_t now_frame_ = 0;
  mutable absl::Mutex mu_;
  ListenerPicture picture_ ABSL_GUARDED_BY(mu_);
};

}  // namespace jamd
