// JamHost: one live jam's realtime chain, attached to the process's Conductor. It owns the jam's
// Scheduler, synth and Band, its audio I/O (JACK, or the virtual clock paced in real time), the
// capture rings the RT thread fills from in_1/in_2/midi_in, the listener thread that turns them
// into heard events for the conductor, and the tap thread that drains the RT thread's mix ring
// and hands the mix and the notes to subscribers (the Opus streamer, the recorder, ListenNotes).
// `jamd jam` runs one over JACK; `jamd serve` runs one per jam on the virtual clock.
//
//   auto conductor = *Conductor::create({.model_path = "models/band.jamd"});
//   conductor->start();
//   auto host = JamHost::start(7, JamState{}, *conductor, {.clock = JamHostOptions::Clock::kJack});
//   auto mix = (*host)->subscribe_mix(/*capacity_blocks=*/64, [] { /* wake the reader */ });
//   (*host)->post_state(new_state);         // thread: any (gRPC, WebSocket, CLI)
//   while (auto block = mix->pop()) encode(*block);
//   (*host)->stop();                        // also in the destructor
//
// Thread safety: every public method may be called from any thread. Subscriber queues are
// bounded and drop their own oldest items; a slow subscriber never slows the RT thread, the
// tap thread or any other subscriber.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/conductor/conductor.h"
#include "daemon/host/monitor.h"
#include "daemon/host/shared_clock.h"
#include "daemon/host/shared_worker.h"
#include "daemon/host/tap_queue.h"
#include "daemon/jam/jam_state.h"

namespace jamd {

// `jamd serve`'s virtual-clock period: one Opus frame (10 ms at 48 kHz), so each period gives a
// listener exactly one packet. Against 256 frames it doubles the time a pacing pass may start
// late before its seats count an xrun, on a machine whose kernel holds the cores for
// milliseconds (docs/PERFORMANCE.md, 32 jams); an instant control still lands within 10 ms.
inline constexpr uint32_t kStreamPeriodFrames = 480;

struct JamHostOptions {
  enum class Clock {
    kVirtualRealtime,  // no JACK: the virtual clock, paced in real time (remote-only jams)
    kJack,             // the jam owns the JACK ports (at most one per process)
  };
  Clock clock = Clock::kVirtualRealtime;
  std::string jack_client_name = "jamd";
  std::string jack_server_name;     // empty: the default server ($JACK_DEFAULT_SERVER)
  bool jack_autoconnect = false;    // connect out_L/out_R to system:playback_1/2, in_1 to capture
  uint32_t sample_rate_hz = 48000;  // virtual clock only; JACK's rate replaces it
  uint32_t period_frames = 256;     // virtual clock only
  // Virtual clock: play on this process-wide clock (one grid of passes for every jam; its rate
  // and period replace the two above) instead of a clock thread of the jam's own. Must outlive
  // the host. `jamd serve` shares one among its jams.
  SharedClock* shared_clock = nullptr;
  // Drain the tap and run the listener on this process-wide worker instead of two threads of
  // the jam's own. Must outlive the host.
  SharedWorker* shared_worker = nullptr;
  std::string soundfont = "default";
  // Reverb and chorus. Off, the mix is the dry band: a mute is silence at once, without a tail
  // (the tests measure it so).
  bool synth_effects = true;
  // The jam's timeline starts this long after start(), so the conductor can plan the first bar.
  double lead_in_ms = 250.0;
  // The musician's MIDI played on the human channel (JACK's midi_in; the virtual clock has none).
  MonitorOptions monitor;
};

// A block of the jam's stereo mix, as the RT thread rendered it.
struct MixBlock {
  uint64_t first_frame = 0;  // the jam's sample clock
  uint32_t sample_rate_hz = 48000;
  std::vector<float> interleaved;  // L R L R ...; size() / 2 frames
};

// A note heard from the musician or played by the band, once its end is known.
struct TappedNote {
  enum class Source { kHeard, kGenerated };
  Source source = Source::kGenerated;
  int part = -1;  // -1: the musician; else PartIndex
  int pitch = 0;
  int velocity = 0;
  uint64_t onset_frame = 0;  // the jam's sample clock
  uint64_t duration_frames = 0;
  uint32_t sample_rate_hz = 48000;
  int64_t bar = 0;    // 0-based
  double beat = 0.0;  // within the bar, in quarter notes
};

// A live jam's note-on more than this late is dropped, not played (realtime::Scheduler): 100 ms
// is a sixteenth note at 150 BPM, so a note this late lands on the wrong subdivision, and a
// conductor that fell seconds behind (an overloaded machine) would otherwise replay its backlog
// in one burst.
inline constexpr double kDropNoteOnsLateMs = 100.0;

struct JamHostStats {
  uint64_t frames_played = 0;
  uint64_t xruns = 0;
  uint64_t events_played = 0;  // MIDI events the scheduler handed out, late ones included
  uint64_t late_events = 0;
  uint64_t late_note_ons_dropped = 0;  // of the late events: note-ons too late to play
  // Frames the band rested because the conductor had nothing planned for them in time (it fell
  // behind: an overloaded machine, or more jams than it can carry).
  uint64_t unplanned_frames = 0;
  uint64_t mix_frames_lost = 0;  // the tap ring was full (the tap thread fell behind)
  double tempo_bpm = 0.0;
  int64_t bar = 0;  // the playhead's bar
  // Added for `jamd jam`'s status line and the operator.
  std::string heard_chord = "N";     // the listener's latest chord ("N": none heard)
  bool musician_playing = false;     // a note heard in the last bar (the conductor's kAuto rule)
  uint64_t capture_frames_lost = 0;  // the listener thread fell behind the RT thread
  uint64_t late_frames_max = 0;      // the latest a late event was
  uint64_t instant_controls_applied = 0;  // post_state snapshots the RT thread applied
  uint64_t instant_controls_frame = 0;    // the jam frame (period start) of the last one
  // JACK servers lost and rejoined (realtime/jack reconnects by itself: the jam pauses while the
  // server is away, server_losses > reconnects, and goes on where it was once it is back).
  uint64_t jack_server_losses = 0;
  uint64_t jack_reconnects = 0;
};

class JamHost {
 public:
  // Builds the chain, adds the jam to the conductor and starts the audio. JACK errors (no server,
  // the client name taken) come back as FAILED_PRECONDITION with what to do. thread: control
  static absl::StatusOr<std::unique_ptr<JamHost>> start(JamId id, const JamState& initial,
                                                        Conductor& conductor,
                                                        const JamHostOptions& options);
  virtual ~JamHost() = default;  // stops

  // Instant fields (mute, volume, stop) reach the RT thread at its next period; the rest go to
  // the conductor. thread: any
  virtual void post_state(const JamState& state) = 0;
  // Subscribers: on_ready is called (from the tap thread, without locks held) when something was
  // pushed; it must not block. thread: any
  virtual std::shared_ptr<TapQueue<MixBlock>> subscribe_mix(size_t capacity_blocks,
                                                            std::function<void()> on_ready) = 0;
  virtual std::shared_ptr<TapQueue<TappedNote>> subscribe_notes(size_t capacity_notes,
                                                                std::function<void()> on_ready) = 0;
  // The musician's audio input (in_1 L, in_2 R) on the jam's clock, in the blocks the listener
  // read (not fixed-size; contiguous). Empty on the virtual clock (no inputs). thread: any
  virtual std::shared_ptr<TapQueue<MixBlock>> subscribe_input(size_t capacity_blocks,
                                                              std::function<void()> on_ready) = 0;
  // Stops the audio, removes the jam from the conductor and closes every subscriber queue.
  // thread: control
  virtual void stop() = 0;

  virtual uint32_t sample_rate_hz() const = 0;
  virtual int beats_per_bar() const = 0;   // the jam's metre (the initial state's)
  virtual JamHostStats stats() const = 0;  // thread: any
};

}  // namespace jamd
