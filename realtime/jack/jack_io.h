// The JACK backend of the AudioIo seam: one JACK client with the ports in_1, in_2, out_L, out_R,
// midi_in and midi_out, driving a ProcessCallback from JACK's process thread, and a lock-free ring
// that hands MIDI in (with absolute sample times) to the rest of the daemon.
//
//   JackOptions options;
//   options.server_name = "studio";                     // empty: the default server
//   absl::StatusOr<std::unique_ptr<JackIo>> io = make_jack_io(options);
//   if (!io.ok()) {  // one line that says what is wrong and what to do
//     std::fprintf(stderr, "jamd: %s\n", std::string(io.status().message()).c_str());
//     return 1;
//   }
//   (*io)->start(&band);                        // band: a ProcessCallback
//   TimedMidiMessage heard[64];
//   size_t n = (*io)->pop_midi_in(heard);       // listener thread: what the musician played
//   (*io)->stop();
//
// When the server goes away (killed, crashed, restarted by the user) the JackIo keeps trying to
// open the same client again (JackOptions::reconnect). Once a server of that name is back it
// registers the same ports, restores their connections and carries on calling the same
// callback; ProcessBlock::first_frame continues where it stopped, so the band resumes where the
// music was. counters().server_losses and counters().reconnects say what happened.
//
// A std::unique_ptr<JackIo> converts to std::unique_ptr<AudioIo> where only the seam is needed.
//
// Thread safety: make_jack_io(), start() and stop() from one control thread; pop_midi_in() from
// one consumer thread at a time; connected(), period_frames(), dsp_load_percent(),
// sample_rate_hz(), max_period_frames() and counters() from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "realtime/io/audio_io.h"

namespace jamd::realtime {

struct JackOptions {
  std::string client_name = "jamd";  // used exactly: a taken name is an error, not a rename
  // Empty: the default server ($JACK_DEFAULT_SERVER, else "default"). The client never starts a
  // server itself: no server is a fast, clear error.
  std::string server_name;
  // Connect in_1/in_2 to system:capture_1/2, out_L/out_R to system:playback_1/2, and the MIDI
  // ports to the first physical MIDI ports, where those exist.
  bool auto_connect = false;
  // Register in_1/in_2, midi_in and midi_out. Off: only out_L/out_R (a player such as jamctl
  // listen --jack, which hears nothing and sends no MIDI); the callback then reads silence and
  // no MIDI in, and its MIDI out writes are dropped and counted.
  bool inputs_and_midi = true;
  // MIDI in messages the ring (a realtime/core SpscRing) holds for the consumer before it drops
  // (and counts) new ones.
  size_t midi_in_ring_capacity_messages = 4096;
  // Survive a server restart (see above). Off: a lost server leaves a dead client
  // (connected() false) and the daemon must make a new JackIo.
  bool reconnect = true;
  int reconnect_interval_ms = 100;  // how often it looks for the server while it is away
  // After a reconnect, connections to ports that are not there yet (another client still
  // starting) are retried for this long.
  int restore_connections_s = 30;
};

// Port short names, as JACK shows them after "<client_name>:".
inline constexpr const char* kJackAudioInPorts[2] = {"in_1", "in_2"};
inline constexpr const char* kJackAudioOutPorts[2] = {"out_L", "out_R"};
inline constexpr const char* kJackMidiInPort = "midi_in";
inline constexpr const char* kJackMidiOutPort = "midi_out";

// A MIDI in message at an absolute frame of the I/O's sample clock (ProcessBlock::first_frame's).
struct TimedMidiMessage {
  uint64_t frame = 0;
  MidiMessage message;  // message.frame keeps the offset inside its period
};

// Incoming MIDI messages a single period carries to the callback; more are dropped and counted in
// counters().midi_in_dropped (as is every system-exclusive or longer-than-3-byte message).
inline constexpr size_t kJackMidiInMessagesPerPeriod = 1024;

class JackIo : public AudioIo {
 public:
  // AudioIo. start() activates the client (and auto-connects if asked). The frame clock of
  // ProcessBlock::first_frame starts at 0 with the first period after start(). If JACK's period
  // grows past max_period_frames(), the callback is called several times per period with slices
  // of at most max_period_frames() frames, so what it preallocated stays enough.

  // Without reconnect: false once the server has shut down or thrown the client out (the client
  // is dead). With reconnect it stays true: a lost server shows in counters() instead
  // (server_losses > reconnects while it is away). thread: any (lock-free)
  virtual bool connected() const = 0;
  // JACK's current period; may change while running (the buffer-size callback tracks it).
  // thread: any
  virtual uint32_t period_frames() const = 0;
  // JACK's own measure of the graph's processing time, as a percentage of the period (all
  // clients, smoothed by the server). thread: any
  virtual float dsp_load_percent() const = 0;
  // The client's name as registered with the server (always the requested one).
  virtual const std::string& client_name() const = 0;
  // Moves up to out.size() MIDI in messages, oldest first, into out; returns how many.
  // Their frame is on ProcessBlock::first_frame's clock. thread: one consumer at a time
  virtual size_t pop_midi_in(std::span<TimedMidiMessage> out) = 0;
};

// Opens the JACK client and registers its ports (not yet active: see start()). Errors:
// Unavailable when no server is running under that name, AlreadyExists when the client name is
// taken, Internal for anything else JACK refuses; each message is one actionable line.
// thread: control
absl::StatusOr<std::unique_ptr<JackIo>> make_jack_io(const JackOptions& options);

// The server a client of `requested` (JackOptions::server_name) joins: itself, else
// $JACK_DEFAULT_SERVER, else "default" (libjack's own rule), for messages that name it.
std::string jack_server_in_effect(const std::string& requested);

}  // namespace jamd::realtime
