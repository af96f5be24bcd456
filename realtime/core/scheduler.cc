// Scheduler: the command queue from the producer, the RT-owned event store and tempo map, and
// the per-period hand-out of due events at their sample offsets.
#include "realtime/core/scheduler.h"

#include <algorithm>
#include <cassert>

namespace jamd::realtime {
namespace {

MidiMessage channel_message(int status, int channel, int data1, int data2, uint8_t size) {
  MidiMessage m;
  m.size = size;
  m.bytes[0] = static_cast<uint8_t>(status | (channel & 0x0F));
  m.bytes[1] = static_cast<uint8_t>(data1 & 0x7F);
  m.bytes[2] = size == 3 ? static_cast<uint8_t>(data2 & 0x7F) : 0;
  return m;
}

// 123: all notes off; 120: all sound off; 64: sustain pedal (MIDI 1.0 controller numbers).
constexpr int kCcAllNotesOff = 123;
constexpr int kCcAllSoundOff = 120;
constexpr int kCcSustain = 64;

// Min-heap order: earliest tick first, then the producer's order.
bool later(const auto& a, const auto& b) {
  return a.tick != b.tick ? a.tick > b.tick : a.seq > b.seq;
}

}  // namespace

Scheduler::Scheduler(const SchedulerOptions& options)
    : queue_(options.command_queue_size),
      map_(options.sample_rate_hz, options.ticks_per_quarter, options.tempo_bpm,
           options.time_signature),
      max_events_(options.max_events),
      drop_note_ons_late_frames_(
          static_cast<int64_t>(options.drop_note_ons_late_ms * 1e-3 * options.sample_rate_hz)) {
  heap_.reserve(max_events_);
  tempo_bpm_.store(options.tempo_bpm, std::memory_order_release);
}

bool Scheduler::post(const Command& command) {
  if (queue_.try_push(command)) return true;
  counters_.commands_rejected.fetch_add(1, std::memory_order_relaxed);
  return false;
}

bool Scheduler::schedule(int64_t tick, const MidiMessage& message) {
  assert(message.size >= 1 && message.size <= 3);
  Command c;
  c.kind = Kind::kMidi;
  c.tick = tick;
  c.message = message;
  c.message.frame = 0;
  return post(c);
}

bool Scheduler::note_on(int64_t tick, int channel, int key, int velocity) {
  return schedule(tick, channel_message(0x90, channel, key, velocity, 3));
}

bool Scheduler::note_off(int64_t tick, int channel, int key) {
  return schedule(tick, channel_message(0x80, channel, key, 0, 3));
}

bool Scheduler::program_change(int64_t tick, int channel, int program) {
  return schedule(tick, channel_message(0xC0, channel, program, 0, 2));
}

bool Scheduler::control_change(int64_t tick, int channel, int controller, int value) {
  return schedule(tick, channel_message(0xB0, channel, controller, value, 3));
}

bool Scheduler::change_tempo(int64_t tick, double tempo_bpm) {
  Command c;
  c.kind = Kind::kTempo;
  c.tick = tick;
  c.tempo_bpm = tempo_bpm;
  return post(c);
}

bool Scheduler::change_tempo_at_next_beat(int64_t tick, double tempo_bpm) {
  Command c;
  c.kind = Kind::kTempoAtNextBeat;
  c.tick = tick;
  c.tempo_bpm = tempo_bpm;
  return post(c);
}

bool Scheduler::change_time_signature(int64_t tick, TimeSignature time_signature) {
  Command c;
  c.kind = Kind::kMeter;
  c.tick = tick;
  c.time_signature = time_signature;
  return post(c);
}

bool Scheduler::send_now(const MidiMessage& message) {
  Command c;
  c.kind = Kind::kMidiNow;
  c.message = message;
  return post(c);
}

bool Scheduler::all_notes_off() {
  Command c;
  c.kind = Kind::kNotesOff;
  return post(c);
}

bool Scheduler::stop() {
  Command c;
  c.kind = Kind::kStop;
  return post(c);
}

void Scheduler::hold(bool held) {
  if (held && !held_) hold_pending_ = true;  // silences once, in this period's begin_period
  if (!held) hold_pending_ = false;
  held_ = held;
}

void Scheduler::drop_all_and_silence() {
  heap_.clear();  // keeps its capacity
  // Sustain off and all notes off first, all sound off last: FluidSynth kills a voice at its
  // next render, and a note off or sustain release handled after the kill puts the voice back
  // into its release phase, so it would keep sounding.
  for (int ch = 0; ch < kMidiChannels; ++ch) {
    push_instant(channel_message(0xB0, ch, kCcSustain, 0, 3));
    push_instant(channel_message(0xB0, ch, kCcAllNotesOff, 0, 3));
  }
  for (int ch = 0; ch < kMidiChannels; ++ch) {
    push_instant(channel_message(0xB0, ch, kCcAllSoundOff, 0, 3));
  }
}

void Scheduler::push_instant(const MidiMessage& message) {
  if (n_instants_ == kMaxInstants) {
    counters_.events_overflowed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  instants_[n_instants_] = message;
  instants_[n_instants_].frame = 0;
  ++n_instants_;
}

void Scheduler::push_event(int64_t tick, const MidiMessage& message) {
  if (heap_.size() == max_events_) {
    counters_.events_overflowed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  heap_.push_back({tick, next_seq_++, message});  // within the reserved capacity: no allocation
  std::push_heap(heap_.begin(), heap_.end(),
                 [](const Event& a, const Event& b) { return later(a, b); });
}

void Scheduler::pop_event() {
  std::pop_heap(heap_.begin(), heap_.end(),
                [](const Event& a, const Event& b) { return later(a, b); });
  heap_.pop_back();
}

void Scheduler::apply_tempo(const Command& command) {
  // A change must not move frames already played: the earliest it may land is the first tick
  // at or after this period's first frame.
  const int64_t now_tick = map_.first_tick_at_or_after(static_cast<int64_t>(period_first_frame_));
  bool ok = false;
  if (command.kind == Kind::kTempo && command.tick >= now_tick) {
    ok = map_.set_tempo(command.tick, command.tempo_bpm);
  } else {
    if (command.kind == Kind::kTempo) {
      counters_.events_late.fetch_add(1, std::memory_order_relaxed);
    }
    ok = map_.set_tempo_at_next_beat(std::max(command.tick, now_tick), command.tempo_bpm) >= 0;
  }
  if (!ok) counters_.tempo_changes_rejected.fetch_add(1, std::memory_order_relaxed);
}

void Scheduler::apply(const Command& command) {
  switch (command.kind) {
    case Kind::kMidi:
      if (!held_) push_event(command.tick, command.message);  // else posted before the stop
      break;
    case Kind::kMidiNow:
      push_instant(command.message);
      break;
    case Kind::kTempo:
    case Kind::kTempoAtNextBeat:
      apply_tempo(command);
      break;
    case Kind::kMeter:
      if (!map_.set_time_signature(command.tick, command.time_signature)) {
        counters_.tempo_changes_rejected.fetch_add(1, std::memory_order_relaxed);
      }
      break;
    case Kind::kStop:
      drop_all_and_silence();
      break;
    case Kind::kNotesOff:
      for (int ch = 0; ch < kMidiChannels; ++ch) {
        push_instant(channel_message(0xB0, ch, kCcSustain, 0, 3));
        push_instant(channel_message(0xB0, ch, kCcAllNotesOff, 0, 3));
      }
      break;
  }
}

void Scheduler::begin_period(uint64_t first_frame, uint32_t n_frames) {
  period_first_frame_ = first_frame;
  period_end_frame_ = first_frame + n_frames;
  n_instants_ = 0;
  next_instant_ = 0;
  Command c;
  // Bounded by the queue's capacity: what is posted during this loop waits for the next period.
  for (size_t n = queue_.size(); n > 0 && queue_.try_pop(c); --n) apply(c);
  if (hold_pending_) {
    hold_pending_ = false;
    drop_all_and_silence();
  }
}

bool Scheduler::next_event(MidiMessage& message) {
  if (next_instant_ < n_instants_) {
    message = instants_[next_instant_++];
    counters_.events_played.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  const int64_t first = static_cast<int64_t>(period_first_frame_);
  while (!heap_.empty()) {
    const Event& top = heap_.front();
    const int64_t frame = map_.frame_at(top.tick);
    if (frame >= static_cast<int64_t>(period_end_frame_)) return false;
    message = top.message;
    pop_event();
    if (frame >= first) {
      message.frame = static_cast<uint32_t>(frame - first);
      counters_.events_played.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    counters_.events_late.fetch_add(1, std::memory_order_relaxed);
    const auto late_frames = static_cast<uint64_t>(first - frame);
    if (late_frames > counters_.late_frames_max.load(std::memory_order_relaxed)) {
      counters_.late_frames_max.store(late_frames, std::memory_order_relaxed);
    }
    const bool note_on = (message.bytes[0] & 0xF0) == 0x90 && message.bytes[2] > 0;
    if (note_on && drop_note_ons_late_frames_ > 0 && first - frame > drop_note_ons_late_frames_) {
      counters_.late_note_ons_dropped.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    message.frame = 0;
    counters_.events_played.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  return false;
}

void Scheduler::end_period() {
  const int64_t tick = map_.tick_at(static_cast<int64_t>(period_end_frame_));
  if (map_.n_tempo_segments() > TempoMap::kMaxTempoSegments / 2) map_.forget_before(tick);
  playhead_tick_.store(tick, std::memory_order_release);
  tempo_bpm_.store(map_.tempo_bpm_at(tick), std::memory_order_release);
  pending_events_.store(heap_.size() + queue_.size(), std::memory_order_release);
  playhead_frame_.store(period_end_frame_, std::memory_order_release);
}

}  // namespace jamd::realtime
