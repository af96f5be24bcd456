// Scheduler: the sample-accurate event scheduler. A control thread schedules MIDI events in
// musical time (ticks); the RT thread turns them into frames with its tempo map and hands them
// out at their sample offset inside each period.
//
//   Scheduler sched({.sample_rate_hz = 48000, .ticks_per_quarter = 480});  // allocates here only
//   sched.note_on(4 * 480, 0, 60, 100);           // thread: producer — beat 4, middle C
//   sched.note_off(5 * 480, 0, 60);
//   // in ProcessCallback::process():                thread: rt
//   sched.begin_period(block.first_frame, block.n_frames);
//   MidiMessage m;
//   while (sched.next_event(m)) { /* render up to m.frame, then apply m */ }
//   sched.end_period();
//
// Thread safety: one producer thread calls the scheduling methods (they post to a bounded SPSC
// queue and return false when it is full); one RT thread calls begin_period / next_event /
// end_period; counters() and the playhead accessors may be read from any thread.
// Semantics: late events (their frame already passed when they reach the RT thread) play at once
// at offset 0 and are counted, except note-ons later than `drop_note_ons_late_ms`, which are
// dropped and counted (their note-offs still play: harmless for a key not sounding); a full event
// store drops the event and counts it; tempo changes posted with change_tempo_at_next_beat() land
// on the next beat boundary; all_notes_off() and stop() act at the start of the next period.
// Stopping: stop() (a producer's post) drops the schedule and silences once; hold(true) (the RT
// thread's own, for a host whose instant controls reach the RT thread before the producer sees
// them) does the same in the period it is called in and keeps dropping what is posted for the
// timeline until hold(false), so notes the producer sent before it learned of the stop never
// sound. The clock, tempo changes and send_now() instants run on while held.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "realtime/core/spsc_ring.h"
#include "realtime/core/tempo_map.h"
#include "realtime/io/audio_io.h"

namespace jamd::realtime {

inline constexpr int kMidiChannels = 16;

struct SchedulerOptions {
  uint32_t sample_rate_hz = 48000;
  int ticks_per_quarter = 480;
  double tempo_bpm = 120.0;
  TimeSignature time_signature{};
  size_t max_events = 8192;          // the bounded event store (events not yet played)
  size_t command_queue_size = 4096;  // posts in flight between producer and RT thread
  // A note-on later than this is dropped instead of played at once (0: never). A live band that
  // fell behind would otherwise play seconds of notes in one burst; a note this late lands on
  // the wrong beat anyway.
  double drop_note_ons_late_ms = 0.0;
};

// Counted on the RT thread (commands_rejected on the producer's), read anywhere.
struct SchedulerCounters {
  std::atomic<uint64_t> events_played{0};          // MIDI events handed out, late ones included
  std::atomic<uint64_t> events_late{0};            // reached the RT thread after their frame passed
  std::atomic<uint64_t> late_frames_max{0};        // the latest a late event has been, in frames
  std::atomic<uint64_t> late_note_ons_dropped{0};  // later than drop_note_ons_late_ms (and late)
  std::atomic<uint64_t> events_overflowed{0};      // dropped because the event store was full
  std::atomic<uint64_t> commands_rejected{0};      // posts refused because the queue was full
  std::atomic<uint64_t> tempo_changes_rejected{0};  // out of order, or the tempo map was full
  // Counted on the producer's thread (count_unplanned): frames the producer had nothing planned
  // for when the playhead reached them (a generator that fell behind), so nothing played there.
  std::atomic<uint64_t> unplanned_frames{0};
};

class Scheduler {
 public:
  explicit Scheduler(const SchedulerOptions& options);  // thread: control (allocates)

  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Producer side: each returns false (and counts it) when the queue is full.
  bool schedule(int64_t tick, const MidiMessage& message);                    // thread: producer
  bool note_on(int64_t tick, int channel, int key, int velocity);             // thread: producer
  bool note_off(int64_t tick, int channel, int key);                          // thread: producer
  bool program_change(int64_t tick, int channel, int program);                // thread: producer
  bool control_change(int64_t tick, int channel, int controller, int value);  // thread: producer
  // Tempo from exactly `tick` on (a file's tempo map). Late changes land on the next beat.
  bool change_tempo(int64_t tick, double tempo_bpm);  // thread: producer
  // The live rule: from the first beat boundary at or after max(tick, the playhead).
  bool change_tempo_at_next_beat(int64_t tick, double tempo_bpm);          // thread: producer
  bool change_time_signature(int64_t tick, TimeSignature time_signature);  // thread: producer
  // The producer had nothing planned for `frames` the playhead passed: counted, for the operator.
  void count_unplanned(uint64_t frames) {  // thread: producer
    counters_.unplanned_frames.fetch_add(frames, std::memory_order_relaxed);
  }
  // Instant controls, applied at offset 0 of the next period.
  bool send_now(const MidiMessage& message);  // thread: producer (volume, mute, program)
  bool all_notes_off();  // thread: producer — releases every sounding note, keeps the schedule
  bool stop();           // thread: producer — drops every scheduled event and silences at once
  // The RT thread's stop (see the header): call before begin_period; idempotent.
  void hold(bool held);                // thread: rt
  bool held() const { return held_; }  // thread: rt

  // RT side.
  void begin_period(uint64_t first_frame, uint32_t n_frames);  // thread: rt
  // The next event due in this period, in frame order, with message.frame its offset.
  bool next_event(MidiMessage& message);  // thread: rt
  void end_period();                      // thread: rt

  const SchedulerCounters& counters() const { return counters_; }  // thread: any
  uint64_t playhead_frame() const { return playhead_frame_.load(std::memory_order_acquire); }
  int64_t playhead_tick() const { return playhead_tick_.load(std::memory_order_acquire); }
  double tempo_bpm() const { return tempo_bpm_.load(std::memory_order_acquire); }
  // Events in the store or the queue at the end of the last period.
  size_t pending_events() const { return pending_events_.load(std::memory_order_acquire); }
  // Posts that would succeed now (a lower bound); lets a producer wait instead of being refused.
  size_t free_command_slots() const { return queue_.free_slots(); }  // thread: producer
  // The RT thread's tempo map; read it only while the RT thread is not running.
  const TempoMap& tempo_map() const { return map_; }  // thread: control, stopped

 private:
  enum class Kind : uint8_t { kMidi, kMidiNow, kTempo, kTempoAtNextBeat, kMeter, kNotesOff, kStop };
  struct Command {
    Kind kind = Kind::kMidi;
    MidiMessage message;
    int64_t tick = 0;
    double tempo_bpm = 0.0;
    TimeSignature time_signature;
  };
  struct Event {
    int64_t tick;
    uint64_t seq;  // keeps the producer's order among events at one tick
    MidiMessage message;
  };
  // Instants of one period: all-notes-off for every channel, twice, plus a few posted messages.
  static constexpr size_t kMaxInstants = 4 * kMidiChannels + 64;

  bool post(const Command& command);
  void apply(const Command& command);
  void apply_tempo(const Command& command);
  void push_instant(const MidiMessage& message);
  void push_event(int64_t tick, const MidiMessage& message);
  void pop_event();
  void drop_all_and_silence();

  SchedulerCounters counters_;
  SpscRing<Command> queue_;
  // RT-owned state.
  TempoMap map_;
  std::vector<Event> heap_;  // a min-heap on (tick, seq), reserved for max_events
  size_t max_events_;
  int64_t drop_note_ons_late_frames_;  // 0: never
  uint64_t next_seq_ = 0;
  MidiMessage instants_[kMaxInstants];
  size_t n_instants_ = 0;
  size_t next_instant_ = 0;
  uint64_t period_first_frame_ = 0;
  uint64_t period_end_frame_ = 0;
  bool held_ = false;
  bool hold_pending_ = false;  // hold(true) since the last begin_period: silence in this one
  // Published by the RT thread.
  std::atomic<uint64_t> playhead_frame_{0};
  std::atomic<int64_t> playhead_tick_{0};
  std::atomic<double> tempo_bpm_{0.0};
  std::atomic<size_t> pending_events_{0};
};

}  // namespace jamd::realtime
