// The audio and MIDI I/O seam: one real-time callback, driven by JACK or by a virtual clock.
//
//   class Band : public ProcessCallback {
//     void process(const ProcessBlock& block) override { ... }  // thread: rt
//   };
//   auto io = make_virtual_io({.sample_rate_hz = 48000, .period_frames = 64});
//   io->start(&band);  ...  io->stop();
//
// Thread safety: start() and stop() from one control thread; process() runs on the RT thread
// (JACK's process thread, or the virtual clock's) and must obey STYLE.md's RT rules.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>

#include "absl/status/status.h"

namespace jamd::realtime {

// A short MIDI message (note, controller, program...) at a frame offset inside a period.
// System-exclusive messages are not carried: the band never needs them.
struct MidiMessage {
  uint32_t frame = 0;  // offset from the start of the period
  uint8_t size = 0;    // 1..3
  uint8_t bytes[3] = {0, 0, 0};
};

// Where the callback writes MIDI out for this period. Messages must come in frame order.
class MidiOut {
 public:
  virtual ~MidiOut() = default;
  // Returns false (and the backend counts it) when the period's buffer is full.
  virtual bool write(const MidiMessage& message) = 0;  // thread: rt
};

// One period of audio and MIDI, as the callback sees it. Buffers belong to the backend and are
// valid only during process().
struct ProcessBlock {
  uint32_t n_frames = 0;
  uint64_t first_frame = 0;              // sample clock: frames since the I/O started
  std::span<const float> audio_in[2];    // in_1, in_2
  std::span<float> audio_out[2];         // out_L, out_R (the callback writes every frame)
  std::span<const MidiMessage> midi_in;  // in frame order
  MidiOut* midi_out = nullptr;
};

class ProcessCallback {
 public:
  virtual ~ProcessCallback() = default;
  virtual void process(const ProcessBlock& block) = 0;  // thread: rt
};

// Things that went wrong, counted on the RT thread and read anywhere.
struct IoCounters {
  std::atomic<uint64_t> xruns{0};             // the server reported an over- or underrun
  std::atomic<uint64_t> periods{0};           // callbacks run
  std::atomic<uint64_t> midi_in_dropped{0};   // input messages that did not fit or were sysex
  std::atomic<uint64_t> midi_out_dropped{0};  // output messages the port refused
  std::atomic<uint64_t> server_losses{0};     // JACK: the server went away (0 elsewhere)
  std::atomic<uint64_t> reconnects{0};        // JACK: a server came back and the I/O carried on
};

class AudioIo {
 public:
  virtual ~AudioIo() = default;
  // Starts calling callback->process() on the RT thread. The callback must outlive stop().
  virtual absl::Status start(ProcessCallback* callback) = 0;  // thread: control
  // Stops the callbacks; when it returns, process() is not running and will not run again.
  virtual void stop() = 0;  // thread: control
  virtual uint32_t sample_rate_hz() const = 0;
  // The largest period the callback will see: preallocate for it.
  virtual uint32_t max_period_frames() const = 0;
  virtual const IoCounters& counters() const = 0;
};

}  // namespace jamd::realtime
