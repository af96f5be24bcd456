// Listener: jamd's ears. Fed input audio (any rate, mono or stereo) and timestamped MIDI, it
// hears onsets, the beat and tempo, notes, the chord of each beat and the key, causally, and
// emits HeardEvents stamped on the input's sample clock with a confidence and the frame at
// which it knew (the latency). Silence is a result: "no beat", "no chord", never a guess.
//
//   Listener listener({.sample_rate_hz = 48000});
//   // listener thread, each period pulled from the capture rings:
//   listener.feed_midi(midi_messages);                // absolute frames; before the audio
//   listener.feed_audio(left, right);                 // right may be empty (mono)
//   for (const HeardEvent& e : listener.drain()) conductor.post(e);
//   // MIDI only (no audio input): listener.advance_to(now_frame) instead of feed_audio.
//
// Thread safety: one thread (the listener thread) owns a Listener; nothing here may run on the
// RT thread (it allocates, resamples and runs FFTs).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "realtime/jack/jack_io.h"
#include "realtime/listen/audio_front_end.h"
#include "realtime/listen/beat_tracker.h"
#include "realtime/listen/harmony.h"
#include "realtime/listen/heard_event.h"

namespace jamd::realtime {

struct ListenerOptions {
  uint32_t sample_rate_hz = 48000;  // of the input's sample clock (audio and MIDI frames)
  int64_t origin_frame = 0;         // the sample clock at the first audio frame fed
  // The chord of a beat is decided this far into the beat (audio and MIDI alike): later hears
  // more of an arpeggio, earlier answers sooner.
  double chord_decision_beats = 0.75;
  // MIDI: a full chord (three pitch classes or more) struck since the beat decides it already this
  // far into the beat (block chords); anything thinner waits for chord_decision_beats.
  double chord_full_decision_beats = 0.25;
  float silence_dbfs = -55.0f;
  double silence_s = 1.0;      // this long quiet: "silence", no beat, no chord
  double key_window_s = 30.0;  // time constant of the key's pitch-class memory
  double key_every_s = 2.0;    // how often the key is re-estimated
  double midi_active_s = 4.0;  // MIDI notes this recent make MIDI the source of beats/chords
  BeatTrackerOptions beat{};   // frame_rate_hz is set by the listener
};

class Listener {
 public:
  explicit Listener(const ListenerOptions& options);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // MIDI messages at absolute frames, in order; feed them before the audio of the same period.
  void feed_midi(std::span<const TimedMidiMessage> messages);                  // thread: listener
  void feed_audio(std::span<const float> left, std::span<const float> right);  // thread: listener
  // Without audio input: analyses the MIDI heard up to `frame`. thread: listener
  void advance_to(int64_t frame);
  // End of input: closes sounding notes and decides what is pending. thread: listener
  void finish();
  // Events heard since the last call, in the order they were decided. thread: listener
  std::vector<HeardEvent> drain();

  // The current picture (thread: listener).
  double tempo_bpm() const;
  Chord chord() const { return chord_; }
  Key key() const { return key_; }
  int64_t frames_heard() const;

 private:
  struct HopRecord {
    Chroma audio{};
    Chroma audio_bass{};
    Chroma midi_chroma{};  // notes held, velocity-weighted
    Chroma midi_struck{};  // notes struck in this hop, velocity-weighted
    Chroma midi_bass{};
    bool quiet = true;
    bool midi_sounding = false;  // MIDI notes sounded in this hop
  };
  struct PendingChord {
    double beat_t = 0;  // tracker frame of the beat
    double period = 0;  // frames per beat
    int64_t beat_index = 0;
    HeardSource source = HeardSource::kAudio;
  };

  void on_audio_hop(const AudioHop& hop);
  void process_hop(const AudioHop* hop);
  void apply_midi_until(int64_t hop_index, HopRecord& record);
  void apply_midi(const TimedMidiMessage& m, HopRecord& record);
  void handle_clock(const TimedMidiMessage& m);
  void emit_beats(int64_t hop_index);
  void decide_chords(int64_t hop_index, bool flush);
  void decide_struck_chord(int64_t hop_index);
  bool pulse_known() const { return beating_ || clock_beats_; }
  int struck_pitch_classes(int64_t first_hop, int64_t last_hop) const;  // MIDI, in these hops
  void update_key(const HopRecord& record, int64_t hop_index);
  void update_silence(const HopRecord& record, int64_t hop_index);
  float harmonic_change(int64_t hop_index) const;
  double frame_of_t(double t) const;  // tracker frame -> input frame
  double t_of_frame(double frame) const;
  int64_t frame_of_hop_end(int64_t hop_index) const;
  bool midi_active(int64_t hop_index) const;
  void push(const HeardEvent& e) { events_.push_back(e); }
  void push(HeardKind kind, HeardSource source, int64_t frame, int64_t decided_frame,
            float confidence);

  ListenerOptions options_;
  double hop_frames_;    // input frames per analysis hop
  double delay_frames_;  // onset-strength peak behind the sound, in input frames
  std::unique_ptr<AudioFrontEnd> audio_;
  BeatTracker tracker_;
  std::vector<HeardEvent> events_;
  std::deque<TimedMidiMessage> midi_queue_;
  int64_t hops_ = 0;                // analysis hops processed
  std::vector<HopRecord> history_;  // ring of recent hops
  // MIDI state.
  std::array<int, 128> held_velocity_{};    // 0: not held
  std::array<int, 16 * 128> held_count_{};  // per channel and key, for repeated note-ons
  float midi_onset_strength_ = 0;           // of the hop being built
  int64_t last_midi_note_hop_ = -1000000;
  // MIDI clock.
  int64_t clock_count_ = 0;
  std::deque<int64_t> clock_frames_;
  int64_t last_clock_frame_ = -1;
  bool clock_beats_ = false;
  int64_t clock_beat_index_ = 0;
  // Beats and chords.
  bool beating_ = false;
  std::deque<PendingChord> pending_chords_;
  Chord chord_;
  ChordFollower chords_;
  Chroma bass_memory_{};
  // A MIDI chord struck while no pulse is known yet: its first note-on (hop and exact frame),
  // gathering the strike's other notes; -1: none.
  int64_t strike_hop_ = -1;
  int64_t strike_frame_ = 0;
  // Key.
  Chroma key_memory_{};
  Key key_;
  int64_t last_key_hop_ = 0;
  int64_t key_emitted_hop_ = -1000000;
  float key_emitted_confidence_ = 0;
  // Silence.
  int64_t quiet_since_hop_ = 0;
  bool silent_ = true;
  bool heard_anything_ = false;
};

}  // namespace jamd::realtime
