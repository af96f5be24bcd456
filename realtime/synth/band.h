// Band: the ProcessCallback that plays the band, used by every backend (JACK, virtual clock,
// offline render). Each period it takes the scheduler's due events, renders the synth up to each
// event's frame, applies it, writes it to MIDI out, adds the chorus and reverb (the synth's
// options().chorus / .reverb) to the mix, then the master stage (make-up gain and a peak limiter,
// master_limiter.h), and copies the mix to an optional tap ring. All sound off (CC 120, what
// Scheduler::stop() sends) clears the effects' tails too.
//
//   Scheduler scheduler({.sample_rate_hz = 48000});
//   auto synth = Synth::create({.sample_rate_hz = 48000});
//   Band band(scheduler, **synth, &tap_ring);     // tap may be nullptr
//   io->start(&band);                             // JACK or VirtualIo call band.process()
//
// Thread safety: construct on a control thread (it allocates the effects' delay lines); then
// process() runs on the RT thread only and never allocates, locks or blocks; counters() may be
// read from any thread. The scheduler, synth and tap must outlive the band.
#pragma once

#include <atomic>
#include <cstdint>

#include "realtime/core/audio_ring.h"
#include "realtime/core/scheduler.h"
#include "realtime/io/audio_io.h"
#include "realtime/synth/chorus.h"
#include "realtime/synth/master_limiter.h"
#include "realtime/synth/reverb.h"
#include "realtime/synth/synth.h"

namespace jamd::realtime {

struct BandCounters {
  std::atomic<uint64_t> periods{0};
  std::atomic<uint64_t> midi_out_written{0};
  std::atomic<uint64_t> midi_out_dropped{0};    // the backend's MIDI out buffer was full
  std::atomic<uint64_t> tap_overrun_frames{0};  // frames the tap ring had no room for
};

class Band : public ProcessCallback {
 public:
  Band(Scheduler& scheduler, Synth& synth, AudioRing* tap = nullptr,
       const MasterSettings& master = {});  // thread: control

  void process(const ProcessBlock& block) override;  // thread: rt

  const BandCounters& counters() const { return counters_; }  // thread: any

 private:
  Scheduler& scheduler_;
  Synth& synth_;
  AudioRing* tap_;
  Chorus chorus_;
  Reverb reverb_;
  MasterLimiter master_;
  BandCounters counters_;
};

}  // namespace jamd::realtime
