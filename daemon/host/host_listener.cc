// HostListener: capture rings -> realtime::Listener -> the conductor, heard notes and input
// audio -> the TapFanout.
#include "daemon/host/host_listener.h"

#include <algorithm>

namespace jamd {
namespace {

// MIDI messages read from the capture ring per pass; more wait for the next pass.
constexpr size_t kMidiPerPass = 1024;

}  // namespace

HostListener::HostListener(realtime::AudioRing& capture,
                           realtime::SpscRing<realtime::TimedMidiMessage>& midi_in,
                           Conductor& conductor, JamId id, TapFanout& fanout,
                           const HostListenerOptions& options)
    : capture_(capture),
      midi_in_(midi_in),
      conductor_(conductor),
      id_(id),
      fanout_(fanout),
      options_(options),
      listener_({.sample_rate_hz = options.sample_rate_hz}) {
  midi_pending_.reserve(kMidiPerPass);
}

ListenerPicture HostListener::picture() const {
  absl::MutexLock lock(&mu_);
  return picture_;
}

void HostListener::hear(const std::vector<realtime::HeardEvent>& events) {
  std::string chord;
  for (const realtime::HeardEvent& e : events) {
    conductor_.post_heard(id_, e);
    if (e.kind == realtime::HeardKind::kChord) chord = realtime::chord_name(e.chord);
    if (e.kind != realtime::HeardKind::kNoteOn && e.kind != realtime::HeardKind::kNoteOff) continue;
    if (e.pitch < 0 || e.pitch > 127) continue;
    const auto pitch = static_cast<size_t>(e.pitch);
    last_note_frame_ = std::max(last_note_frame_, e.frame);
    if (held_onset_[pitch] > 0) {  // an off, or a repeated on: the sounding note ends here
      const int64_t onset = held_onset_[pitch] - 1;
      const MusicalPosition at = fanout_.position_at(static_cast<uint64_t>(onset));
      TappedNote note;
      note.source = TappedNote::Source::kHeard;
      note.part = -1;
      note.pitch = e.pitch;
      note.velocity = held_velocity_[pitch];
      note.onset_frame = static_cast<uint64_t>(onset);
      note.duration_frames = static_cast<uint64_t>(std::max<int64_t>(0, e.frame - onset));
      note.sample_rate_hz = options_.sample_rate_hz;
      note.bar = at.bar;
      note.beat = at.beat;
      fanout_.publish_note(note);
      held_onset_[pitch] = 0;
    }
    if (e.kind == realtime::HeardKind::kNoteOn) {
      held_onset_[pitch] = e.frame + 1;
      held_velocity_[pitch] = e.velocity;
    }
  }
  const bool holding =
      std::any_of(held_onset_.begin(), held_onset_.end(), [](int64_t f) { return f > 0; });
  const double bar_frames =
      60.0 / options_.tempo_bpm * options_.beats_per_bar * options_.sample_rate_hz;
  const bool playing =
      holding ||
      (last_note_frame_ >= 0 &&
       static_cast<double>(now_frame_) - static_cast<double>(last_note_frame_) <= bar_frames);
  absl::MutexLock lock(&mu_);
  if (!chord.empty()) picture_.chord = chord;
  picture_.musician_playing = playing;
}

void HostListener::drain(uint64_t playhead_frame) {
  if (options_.jack != nullptr) {
    realtime::TimedMidiMessage unread[64];
    while (options_.jack->pop_midi_in(unread) > 0) {
    }
  }
  realtime::TimedMidiMessage m;
  while (midi_pending_.size() < kMidiPerPass && midi_in_.try_pop(m)) midi_pending_.push_back(m);

  uint64_t until = playhead_frame;
  if (options_.audio_input) {
    const size_t n = capture_.fill_frames();
    interleaved_.resize(n * 2);
    const size_t got = capture_.read_interleaved(interleaved_);
    left_.resize(got);
    right_.resize(got);
    for (size_t i = 0; i < got; ++i) {
      left_[i] = interleaved_[2 * i];
      right_[i] = interleaved_[2 * i + 1];
    }
    if (got > 0 && fanout_.has_input_subscribers()) {
      MixBlock block;
      block.first_frame = frames_heard_;
      block.sample_rate_hz = options_.sample_rate_hz;
      block.interleaved.assign(interleaved_.begin(),
                               interleaved_.begin() + static_cast<long>(got * 2));
      fanout_.publish_input(block);
    }
    until = frames_heard_ + got;
  }
  // MIDI before the audio of the same span (the Listener's rule); later messages wait.
  const auto split = std::partition_point(
      midi_pending_.begin(), midi_pending_.end(),
      [until](const realtime::TimedMidiMessage& t) { return t.frame < until; });
  const auto n_due = static_cast<size_t>(split - midi_pending_.begin());
  listener_.feed_midi(std::span(midi_pending_).first(n_due));
  midi_pending_.erase(midi_pending_.begin(), split);
  now_frame_ = until;
  if (options_.audio_input) {
    if (!left_.empty()) listener_.feed_audio(left_, right_);
    frames_heard_ = until;
  } else {
    listener_.advance_to(static_cast<int64_t>(until));
  }
  hear(listener_.drain());
}

}  // namespace jamd
