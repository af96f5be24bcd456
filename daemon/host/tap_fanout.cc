// TapFanout: mix ring -> 20 ms MixBlocks, note events + clock marks -> TappedNotes, both to the
// subscribers' queues.
#include "daemon/host/tap_fanout.h"

#include <algorithm>
#include <cmath>

#include "daemon/conductor/jam_timeline.h"
#include "daemon/host/instant_controls.h"

namespace jamd {
namespace {

// 20 ms: Opus's usual frame, so the streamer encodes one block per packet.
constexpr uint32_t kBlocksPerSecond = 50;

}  // namespace

TapFanout::TapFanout(realtime::AudioRing& mix, realtime::SpscRing<TapEvent>& events,
                     const TapFanoutOptions& options)
    : mix_ring_(mix),
      event_ring_(events),
      options_(options),
      block_frames_(std::max<uint32_t>(1, options.sample_rate_hz / kBlocksPerSecond)) {
  block_.sample_rate_hz = options.sample_rate_hz;
  block_.interleaved.reserve(size_t{block_frames_} * 2);
  mark_.tempo_bpm = options.tempo_bpm;
}

MusicalPosition TapFanout::position_from(const Mark& mark, uint64_t frame) const {
  const double ticks_per_frame =
      mark.tempo_bpm / 60.0 * kConductorTicksPerQuarter / options_.sample_rate_hz;
  const double delta = (static_cast<double>(frame) - static_cast<double>(mark.frame));
  MusicalPosition p;
  p.tick = mark.tick + std::llround(delta * ticks_per_frame);
  const int64_t bar_ticks = int64_t{options_.beats_per_bar} * kConductorTicksPerQuarter;
  p.bar = p.tick >= 0 ? p.tick / bar_ticks : -((-p.tick + bar_ticks - 1) / bar_ticks);
  p.beat = static_cast<double>(p.tick - p.bar * bar_ticks) / kConductorTicksPerQuarter;
  return p;
}

MusicalPosition TapFanout::position_at(uint64_t frame) const {
  absl::MutexLock lock(&mark_mu_);
  return position_from(mark_, frame);
}

void TapFanout::end_note(int channel, int pitch, uint64_t end_frame) {
  const auto it = held_.find({channel, pitch});
  if (it == held_.end()) return;
  const Held& held = it->second;
  TappedNote note;
  note.source = TappedNote::Source::kGenerated;
  note.part = part_of_channel(channel);
  note.pitch = pitch;
  note.velocity = held.velocity;
  note.onset_frame = held.onset_frame;
  note.duration_frames = end_frame > held.onset_frame ? end_frame - held.onset_frame : 0;
  note.sample_rate_hz = options_.sample_rate_hz;
  note.bar = held.position.bar;
  note.beat = held.position.beat;
  held_.erase(it);
  notes_.push(note);
}

void TapFanout::on_clock(const Mark& mark) {
  {
    absl::MutexLock lock(&mark_mu_);
    mark_ = mark;
  }
  for (const TapEvent& e : unresolved_) {
    if (e.kind == TapEvent::Kind::kNoteOff) {
      end_note(e.channel, e.pitch, e.frame);
      continue;
    }
    end_note(e.channel, e.pitch, e.frame);  // a repeated note-on ends the sounding one
    if (part_of_channel(e.channel) < 0) continue;
    held_[{e.channel, e.pitch}] = Held{
        .onset_frame = e.frame, .velocity = e.velocity, .position = position_from(mark, e.frame)};
  }
  unresolved_.clear();
}

void TapFanout::drain_events() {
  TapEvent e;
  while (event_ring_.try_pop(e)) {
    switch (e.kind) {
      case TapEvent::Kind::kNoteOn:
      case TapEvent::Kind::kNoteOff:
        unresolved_.push_back(e);
        break;
      case TapEvent::Kind::kClock:
        on_clock({.frame = e.frame, .tick = e.tick, .tempo_bpm = e.tempo_bpm});
        break;
      case TapEvent::Kind::kMixGap:
        gaps_.push_back(e);
        break;
    }
  }
}

void TapFanout::emit_block() {
  if (block_.interleaved.empty()) return;
  mix_.push(block_);
  block_.interleaved.clear();
}

void TapFanout::drain_audio(size_t available_frames) {
  while (available_frames > 0 || (!gaps_.empty() && gaps_.front().frame <= cursor_frame_)) {
    if (!gaps_.empty() && gaps_.front().frame <= cursor_frame_) {
      emit_block();  // frames after a gap start a new block
      cursor_frame_ = gaps_.front().frame + gaps_.front().n_frames;
      gaps_.pop_front();
      continue;
    }
    if (block_.interleaved.empty()) block_.first_frame = cursor_frame_;
    size_t want = block_frames_ - block_.interleaved.size() / 2;
    want = std::min(want, available_frames);
    if (!gaps_.empty()) want = std::min<size_t>(want, gaps_.front().frame - cursor_frame_);
    scratch_.resize(want * 2);
    const size_t got = mix_ring_.read_interleaved(scratch_);
    block_.interleaved.insert(block_.interleaved.end(), scratch_.begin(),
                              scratch_.begin() + static_cast<long>(got * 2));
    cursor_frame_ += got;
    available_frames -= std::min(available_frames, want);
    if (block_.interleaved.size() / 2 >= block_frames_) emit_block();
    if (got < want) break;  // cannot happen: the frames were counted before
  }
}

void TapFanout::drain() {
  // The audio first, then the events: every gap before a frame counted here was pushed before
  // that frame was written, so it is among the events popped next.
  const size_t available = mix_ring_.fill_frames();
  drain_events();
  drain_audio(available);
}

void TapFanout::finish() {
  drain();
  emit_block();
  for (const TapEvent& e : unresolved_) {
    if (e.kind == TapEvent::Kind::kNoteOff) end_note(e.channel, e.pitch, e.frame);
  }
  unresolved_.clear();
  while (!held_.empty()) {
    const auto [channel, pitch] = held_.begin()->first;
    end_note(channel, pitch, cursor_frame_);
  }
  mix_.close();
  notes_.close();
  input_.close();
}

}  // namespace jamd
