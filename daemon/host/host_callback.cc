// HostCallback: one period of a live jam on the RT thread: capture, instant controls, the band
// through the tapping MIDI out with the musician's monitor, the mix tap and the clock mark.
#include "daemon/host/host_callback.h"

#include <algorithm>
#include <optional>
#include <span>

namespace jamd {
namespace {

bool is_note_on(const realtime::MidiMessage& m) {
  return m.size == 3 && (m.bytes[0] & 0xF0) == 0x90 && m.bytes[2] > 0;
}
bool is_note_off(const realtime::MidiMessage& m) {
  return m.size == 3 &&
         ((m.bytes[0] & 0xF0) == 0x80 || ((m.bytes[0] & 0xF0) == 0x90 && m.bytes[2] == 0));
}

}  // namespace

HostCallback::HostCallback(realtime::Band& band, realtime::Synth& synth,
                           realtime::Scheduler& scheduler, const HostRings& rings,
                           uint64_t lead_in_frames, bool capture_audio,
                           const InstantControls& initial, const MonitorOptions& monitor)
    : band_(band),
      synth_(synth),
      scheduler_(scheduler),
      rings_(rings),
      lead_in_frames_(lead_in_frames),
      capture_audio_(capture_audio),
      monitor_enabled_(monitor.enabled),
      tap_midi_out_(*this),
      controls_(initial) {
  // Nothing else sends the human channel its program or volume in a live jam (the conductor's
  // mix covers the band's parts), and the RT thread is not running yet.
  realtime::MidiMessage program;
  program.size = 2;
  program.bytes[0] = static_cast<uint8_t>(0xC0 | kHumanChannel);
  program.bytes[1] = static_cast<uint8_t>(std::clamp(monitor.gm_program, 0, 127));
  synth_.handle(program);
  synth_.handle(controller_message(kHumanChannel, kMidiCcVolume, initial.monitor_volume_cc));
  scheduler_.hold(!initial.playing);
}

bool HostCallback::TapMidiOut::write(const realtime::MidiMessage& message) {
  const bool on = is_note_on(message);
  const bool off = is_note_off(message);
  const int channel = message.bytes[0] & 0x0F;
  if (on) {
    const int part = part_of_channel(channel);
    const bool muted = part >= 0 && host_.controls_.muted[static_cast<size_t>(part)];
    // The synth still gets the note (silent at CC 7 = 0); MIDI out and the recording do not.
    if (muted) return true;
  }
  realtime::MidiMessage in_period = message;
  in_period.frame += offset_in_period_;
  const bool written = real_ == nullptr || real_->write(in_period);
  if (written && (on || off)) {
    host_.push_event({.kind = on ? TapEvent::Kind::kNoteOn : TapEvent::Kind::kNoteOff,
                      .channel = static_cast<uint8_t>(channel),
                      .pitch = message.bytes[1],
                      .velocity = message.bytes[2],
                      .frame = jam_first_frame_ + message.frame});
  }
  return written;
}

void HostCallback::push_event(const TapEvent& event) {
  if (!rings_.events.try_push(event)) {
    counters_.tap_events_lost.fetch_add(1, std::memory_order_relaxed);
  }
}

void HostCallback::send_now(const realtime::ProcessBlock& block,
                            const realtime::MidiMessage& message) {
  synth_.handle(message);
  if (block.midi_out != nullptr) block.midi_out->write(message);
}

void HostCallback::capture(const realtime::ProcessBlock& block, uint64_t jam_frame) {
  const uint32_t n = block.n_frames;
  if (capture_audio_ && block.audio_in[0].size() >= n && block.audio_in[1].size() >= n) {
    const std::span<const float> channels[2] = {block.audio_in[0].first(n),
                                                block.audio_in[1].first(n)};
    const size_t written = rings_.capture.write_planar(channels, n);
    if (written < n) {
      counters_.capture_frames_lost.fetch_add(n - written, std::memory_order_relaxed);
    }
  }
  for (const realtime::MidiMessage& m : block.midi_in) {
    if (!rings_.midi_in.try_push({.frame = jam_frame + m.frame, .message = m})) {
      counters_.midi_in_lost.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void HostCallback::apply_controls(const realtime::ProcessBlock& block, uint64_t jam_frame) {
  InstantControls next;
  bool any = false;
  while (rings_.controls.try_pop(next)) any = true;  // the newest wins; all are snapshots
  if (!any || next == controls_) return;
  const InstantControls previous = controls_;
  controls_ = next;
  // The one stop: the scheduler drops the schedule and silences every channel in this period
  // (the band's effect tails too), and drops the conductor's notes until the resume.
  scheduler_.hold(!next.playing);
  for (size_t p = 0; p < kNumParts; ++p) {
    const int channel = kPartChannel[p];
    if (next.volume_cc[p] != previous.volume_cc[p]) {
      send_now(block, controller_message(channel, kMidiCcVolume, next.volume_cc[p]));
    }
    if (next.muted[p] && !previous.muted[p]) {
      send_now(block, controller_message(channel, kMidiCcAllNotesOff, 0));
    }
  }
  if (next.monitor_volume_cc != previous.monitor_volume_cc) {
    synth_.handle(controller_message(kHumanChannel, kMidiCcVolume, next.monitor_volume_cc));
  }
  counters_.controls_applied_frame.store(jam_frame, std::memory_order_relaxed);
  counters_.controls_applied.fetch_add(1, std::memory_order_release);
}

void HostCallback::run_band(const realtime::ProcessBlock& block, uint64_t jam_frame,
                            uint32_t offset, uint32_t n_frames) {
  realtime::ProcessBlock piece;
  piece.n_frames = n_frames;
  piece.first_frame = jam_frame + offset;
  piece.audio_out[0] = block.audio_out[0].subspan(offset, n_frames);
  piece.audio_out[1] = block.audio_out[1].subspan(offset, n_frames);
  piece.midi_out = &tap_midi_out_;
  tap_midi_out_.begin(block.midi_out, piece.first_frame, offset);
  band_.process(piece);
}

void HostCallback::run_band_and_monitor(const realtime::ProcessBlock& block, uint64_t jam_frame) {
  const uint32_t n = block.n_frames;
  uint32_t rendered = 0;
  // The band's first piece runs first, even empty: its instants (a stop's silence, volumes) act
  // at frame 0, before a note of the musician's at frame 0.
  bool band_began = false;
  if (monitor_enabled_) {
    for (const realtime::MidiMessage& heard : block.midi_in) {
      const std::optional<realtime::MidiMessage> m = monitor_message(heard);
      if (!m) continue;
      // The musician's note sounds at its own frame (JACK's midi_in offsets are the input
      // period's): render the band up to it first, as Band does for scheduled events.
      const uint32_t at = std::min(heard.frame, n);
      if (at > rendered || !band_began) {
        run_band(block, jam_frame, rendered, at - rendered);
        rendered = at;
        band_began = true;
      }
      synth_.handle(*m);
      counters_.monitor_messages.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (rendered < n || !band_began) run_band(block, jam_frame, rendered, n - rendered);
}

void HostCallback::tap_mix(const realtime::ProcessBlock& block, uint64_t jam_frame) {
  const uint32_t n = block.n_frames;
  // All or nothing, so that the tap thread can place every frame it reads (a gap event says
  // which frames are missing).
  if (rings_.mix.capacity_frames() - rings_.mix.fill_frames() < n) {
    counters_.mix_frames_lost.fetch_add(n, std::memory_order_relaxed);
    push_event({.kind = TapEvent::Kind::kMixGap, .n_frames = n, .frame = jam_frame});
    return;
  }
  const std::span<const float> channels[2] = {std::span<const float>(block.audio_out[0].first(n)),
                                              std::span<const float>(block.audio_out[1].first(n))};
  rings_.mix.write_planar(channels, n);
}

void HostCallback::process(const realtime::ProcessBlock& block) {
  const uint32_t n = block.n_frames;
  if (!started_) {
    if (block.first_frame < lead_in_frames_) {
      std::fill(block.audio_out[0].begin(), block.audio_out[0].begin() + n, 0.0f);
      std::fill(block.audio_out[1].begin(), block.audio_out[1].begin() + n, 0.0f);
      return;
    }
    started_ = true;
    origin_.store(block.first_frame, std::memory_order_release);
  }
  const uint64_t jam_frame = block.first_frame - origin_.load(std::memory_order_relaxed);
  capture(block, jam_frame);
  apply_controls(block, jam_frame);
  run_band_and_monitor(block, jam_frame);
  tap_mix(block, jam_frame);
  push_event({.kind = TapEvent::Kind::kClock,
              .frame = scheduler_.playhead_frame(),
              .tick = scheduler_.playhead_tick(),
              .tempo_bpm = scheduler_.tempo_bpm()});
}

}  // namespace jamd
