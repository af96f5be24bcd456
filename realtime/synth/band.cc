// Band: one period of the band on the RT thread: scheduler → synth (split at event offsets) →
// chorus → reverb → master (gain, limiter) → audio out, MIDI out and the tap ring.
#include "realtime/synth/band.h"

#include <cassert>
#include <span>

namespace jamd::realtime {
namespace {

constexpr uint8_t kCcAllSoundOff = 120;  // MIDI 1.0 channel mode message

}  // namespace

Band::Band(Scheduler& scheduler, Synth& synth, AudioRing* tap, const MasterSettings& master)
    : scheduler_(scheduler),
      synth_(synth),
      tap_(tap),
      chorus_(synth.options().chorus, synth.sample_rate_hz()),
      reverb_(synth.options().reverb, synth.sample_rate_hz()),
      master_(master, synth.sample_rate_hz()) {}

void Band::process(const ProcessBlock& block) {
  const uint32_t n = block.n_frames;
  assert(block.audio_out[0].size() >= n && block.audio_out[1].size() >= n);
  float* left = block.audio_out[0].data();
  float* right = block.audio_out[1].data();

  scheduler_.begin_period(block.first_frame, n);
  uint32_t rendered = 0;
  MidiMessage message;
  bool all_sound_off = false;
  while (scheduler_.next_event(message)) {
    all_sound_off |= (message.bytes[0] & 0xF0) == 0xB0 && message.bytes[1] == kCcAllSoundOff;
    // Render up to the event's frame so it takes effect there, not at the period's start.
    if (message.frame > rendered) {
      synth_.render(left + rendered, right + rendered, message.frame - rendered);
      rendered = message.frame;
    }
    synth_.handle(message);
    if (block.midi_out != nullptr) {
      if (block.midi_out->write(message)) {
        counters_.midi_out_written.fetch_add(1, std::memory_order_relaxed);
      } else {
        counters_.midi_out_dropped.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  if (rendered < n) synth_.render(left + rendered, right + rendered, n - rendered);
  scheduler_.end_period();
  // All sound off (a stop) means the room too: the tails go with the voices, from this period.
  if (all_sound_off) {
    chorus_.clear();
    reverb_.clear();
    master_.clear();
  }
  // In series, as on a mixing desk's insert chain: the room hears the chorused band.
  chorus_.process(left, right, n);
  reverb_.process(left, right, n);
  // Last, so the outputs and the tap (listeners, recordings) carry the same level.
  master_.process(left, right, n);

  if (tap_ != nullptr) {
    const std::span<const float> channels[2] = {{left, n}, {right, n}};
    const size_t written = tap_->write_planar(channels, n);
    if (written < n) {
      counters_.tap_overrun_frames.fetch_add(n - written, std::memory_order_relaxed);
    }
  }
  counters_.periods.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace jamd::realtime
