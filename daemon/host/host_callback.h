// HostCallback: the ProcessCallback of a live jam, wrapped around the Band. Each period, on the RT
// thread, it copies in_1/in_2 and midi_in into the capture rings (for the listener thread),
// applies the instant controls posted since the last period (mute, volume, stop: a stop holds
// the scheduler, Scheduler::hold), runs the band through a MidiOut that forwards to the real one
// and taps every note on/off (the generated notes), plays the musician's MIDI on the human
// channel at its own frame (the monitor: the band is rendered in pieces split at those frames),
// and copies the mix into the mix ring (for the tap thread). The jam's sample clock starts
// lead_in_frames after the I/O's (so the conductor can plan the first bar).
//
//   HostCallback callback(band, synth, scheduler, rings, lead_in_frames, capture_audio,
//                         instant_controls_of(state), MonitorOptions{});
//   io->start(&callback);
//   rings.controls.try_push(instant_controls_of(state));   // the one producer
//
// Thread safety: process() runs on the RT thread only: it never allocates, locks, logs or blocks
// (every ring is preallocated; a full ring drops and counts). Counters and jam_origin_io_frame()
// may be read from any thread.
#pragma once

#include <atomic>
#include <cstdint>

#include "daemon/host/instant_controls.h"
#include "daemon/host/monitor.h"
#include "realtime/core/audio_ring.h"
#include "realtime/core/scheduler.h"
#include "realtime/core/spsc_ring.h"
#include "realtime/io/audio_io.h"
#include "realtime/jack/jack_io.h"
#include "realtime/synth/band.h"
#include "realtime/synth/synth.h"

namespace jamd {

// What the RT thread tells the tap thread, in order, on the jam's sample clock.
struct TapEvent {
  enum class Kind : uint8_t {
    kNoteOn,   // the band wrote a note-on (channel, pitch, velocity) at `frame`
    kNoteOff,  // ... a note-off (or a note-on of velocity 0)
    kClock,    // end of a period: `frame` is at musical position `tick` at `tempo_bpm`
    kMixGap,   // the mix ring had no room: frames [frame, frame + n_frames) are lost
  };
  Kind kind = Kind::kClock;
  uint8_t channel = 0;
  uint8_t pitch = 0;
  uint8_t velocity = 0;
  uint32_t n_frames = 0;
  uint64_t frame = 0;
  int64_t tick = 0;
  double tempo_bpm = 0.0;
};

// The rings between the RT thread and the host's other threads (owned by the host).
struct HostRings {
  realtime::AudioRing& capture;                             // in_1, in_2 -> listener thread
  realtime::SpscRing<realtime::TimedMidiMessage>& midi_in;  // midi_in -> listener thread
  realtime::AudioRing& mix;                                 // the mix -> tap thread
  realtime::SpscRing<TapEvent>& events;                     // notes, clock -> tap thread
  realtime::SpscRing<InstantControls>& controls;            // control threads -> RT
};

struct HostCallbackCounters {
  std::atomic<uint64_t> capture_frames_lost{0};  // the listener thread fell behind
  std::atomic<uint64_t> midi_in_lost{0};
  std::atomic<uint64_t> mix_frames_lost{0};  // the tap thread fell behind
  std::atomic<uint64_t> tap_events_lost{0};
  std::atomic<uint64_t> controls_applied{0};
  std::atomic<uint64_t> controls_applied_frame{0};  // jam frame of the last applied controls
  std::atomic<uint64_t> monitor_messages{0};        // the musician's messages the monitor played
};

class HostCallback : public realtime::ProcessCallback {
 public:
  // capture_audio: false when the I/O has no real inputs (the virtual clock): nothing is copied.
  // Sets the monitor's program and volume on the synth: construct before the audio starts.
  // thread: control
  HostCallback(realtime::Band& band, realtime::Synth& synth, realtime::Scheduler& scheduler,
               const HostRings& rings, uint64_t lead_in_frames, bool capture_audio,
               const InstantControls& initial, const MonitorOptions& monitor);

  void process(const realtime::ProcessBlock& block) override;  // thread: rt

  const HostCallbackCounters& counters() const { return counters_; }  // thread: any
  // The I/O frame at which the jam's clock reads 0; UINT64_MAX until then. thread: any
  uint64_t jam_origin_io_frame() const { return origin_.load(std::memory_order_acquire); }

 private:
  // Forwards the band's MIDI to the real port and taps note on/off; drops note-ons of muted
  // parts. The band may run a period in pieces: frames are moved from the piece's to the
  // period's (real port) and the jam's (tap). thread: rt
  class TapMidiOut : public realtime::MidiOut {
   public:
    explicit TapMidiOut(HostCallback& host) : host_(host) {}
    void begin(realtime::MidiOut* real, uint64_t jam_first_frame, uint32_t offset_in_period) {
      real_ = real;
      jam_first_frame_ = jam_first_frame;
      offset_in_period_ = offset_in_period;
    }
    bool write(const realtime::MidiMessage& message) override;

   private:
    HostCallback& host_;
    realtime::MidiOut* real_ = nullptr;
    uint64_t jam_first_frame_ = 0;
    uint32_t offset_in_period_ = 0;
  };

  void capture(const realtime::ProcessBlock& block, uint64_t jam_frame);
  void apply_controls(const realtime::ProcessBlock& block, uint64_t jam_frame);
  void send_now(const realtime::ProcessBlock& block, const realtime::MidiMessage& message);
  // The band over frames [offset, offset + n_frames) of the period.
  void run_band(const realtime::ProcessBlock& block, uint64_t jam_frame, uint32_t offset,
                uint32_t n_frames);
  void run_band_and_monitor(const realtime::ProcessBlock& block, uint64_t jam_frame);
  void tap_mix(const realtime::ProcessBlock& block, uint64_t jam_frame);
  void push_event(const TapEvent& event);

  realtime::Band& band_;
  realtime::Synth& synth_;
  realtime::Scheduler& scheduler_;
  HostRings rings_;
  const uint64_t lead_in_frames_;
  const bool capture_audio_;
  const bool monitor_enabled_;
  TapMidiOut tap_midi_out_;
  // RT-owned.
  InstantControls controls_;
  bool started_ = false;
  HostCallbackCounters counters_;
  std::atomic<uint64_t> origin_{UINT64_MAX};
};

}  // namespace jamd
