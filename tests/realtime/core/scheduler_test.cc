// Scheduler: events land at their exact sample offset, late events play at once and are
// counted (note-ons past the limit are dropped), overflow is counted, tempo changes wait for a beat
// boundary, instant controls act at the next period.
#include "realtime/core/scheduler.h"

#include <gtest/gtest.h>

#include <vector>

namespace jamd::realtime {
namespace {

constexpr int kTpq = 480;  // at 120 BPM and 48 kHz: 24000 frames a beat, 50 a tick

struct Played {
  uint64_t frame;  // absolute
  MidiMessage message;
};

// Runs periods of period_frames from first_frame up to end_frame, collecting what is due.
std::vector<Played> run(Scheduler& sched, uint64_t first_frame, uint64_t end_frame,
                        uint32_t period_frames) {
  std::vector<Played> played;
  for (uint64_t first = first_frame; first < end_frame; first += period_frames) {
    sched.begin_period(first, period_frames);
    MidiMessage m;
    uint32_t last_offset = 0;
    while (sched.next_event(m)) {
      EXPECT_LT(m.frame, period_frames);
      EXPECT_GE(m.frame, last_offset) << "events must come in frame order";
      last_offset = m.frame;
      played.push_back({first + m.frame, m});
    }
    sched.end_period();
  }
  return played;
}

SchedulerOptions options() { return {.sample_rate_hz = 48000, .ticks_per_quarter = kTpq}; }

TEST(Scheduler, NoteAtBeatLandsOnItsExactFrameInsideThePeriod) {
  Scheduler sched(options());
  ASSERT_TRUE(sched.note_on(3 * kTpq + 7, 0, 60, 100));  // frame 72350, not period-aligned
  const std::vector<Played> played = run(sched, 0, 80000, 256);
  ASSERT_EQ(played.size(), 1u);
  EXPECT_EQ(played[0].frame, 72350u);
  EXPECT_EQ(played[0].message.bytes[0], 0x90);
  EXPECT_EQ(played[0].message.bytes[1], 60);
  EXPECT_EQ(sched.counters().events_late.load(), 0u);
}

TEST(Scheduler, SameFrameWithEveryPeriodSize) {
  for (uint32_t period : {32u, 64u, 128u, 256u, 1000u}) {
    Scheduler sched(options());
    sched.note_on(kTpq / 3, 1, 64, 90);  // tick 160: frame 8000
    const std::vector<Played> played = run(sched, 0, 9000, period);
    ASSERT_EQ(played.size(), 1u) << period;
    EXPECT_EQ(played[0].frame, 8000u) << period;
  }
}

TEST(Scheduler, KeepsProducerOrderAtOneTick) {
  Scheduler sched(options());
  sched.note_off(kTpq, 0, 60);
  sched.note_on(kTpq, 0, 60, 100);
  sched.program_change(0, 0, 33);
  const std::vector<Played> played = run(sched, 0, 30000, 64);
  ASSERT_EQ(played.size(), 3u);
  EXPECT_EQ(played[0].message.bytes[0], 0xC0);
  EXPECT_EQ(played[1].message.bytes[0], 0x80);
  EXPECT_EQ(played[2].message.bytes[0], 0x90);
  EXPECT_EQ(played[2].frame, 24000u);
}

TEST(Scheduler, LateEventPlaysAtOnceAndIsCounted) {
  Scheduler sched(options());
  run(sched, 0, 48000, 256);        // the playhead passes beat 2
  sched.note_on(kTpq, 0, 62, 100);  // beat 1: already gone
  const std::vector<Played> played = run(sched, 48128, 48128 + 256, 256);
  ASSERT_EQ(played.size(), 1u);
  EXPECT_EQ(played[0].frame, 48128u);  // offset 0 of the next period
  EXPECT_EQ(sched.counters().events_late.load(), 1u);
  EXPECT_EQ(sched.counters().late_frames_max.load(), 48128u - 24000u);
  EXPECT_EQ(sched.counters().events_played.load(), 1u);
}

// A band that fell behind: note-ons later than the limit are dropped (counted), not played in a
// burst; their note-offs, note-offs written as velocity-0 note-ons, other messages and note-ons
// less late still play at once.
TEST(Scheduler, NoteOnsLaterThanTheLimitAreDropped) {
  SchedulerOptions o = options();
  o.drop_note_ons_late_ms = 100.0;  // 4,800 frames
  Scheduler sched(o);
  run(sched, 0, 48000, 256);                  // the playhead passes beat 2
  sched.note_on(kTpq, 0, 62, 100);            // beat 1: 503 ms late, dropped
  sched.note_off(kTpq + 10, 0, 62);           // plays
  sched.note_on(kTpq + 20, 0, 63, 0);         // a note-off in note-on form: plays
  sched.control_change(kTpq + 30, 0, 7, 90);  // plays
  sched.note_on(915, 0, 64, 100);             // frame 45,750: 50 ms late, plays
  const std::vector<Played> played = run(sched, 48128, 48128 + 256, 256);
  ASSERT_EQ(played.size(), 4u);
  EXPECT_EQ(played[0].message.bytes[0], 0x80);
  EXPECT_EQ(played[1].message.bytes[0], 0x90);
  EXPECT_EQ(played[1].message.bytes[2], 0);
  EXPECT_EQ(played[2].message.bytes[0], 0xB0);
  EXPECT_EQ(played[3].message.bytes[1], 64);
  for (const Played& p : played) EXPECT_EQ(p.frame, 48128u);
  EXPECT_EQ(sched.counters().late_note_ons_dropped.load(), 1u);
  EXPECT_EQ(sched.counters().events_late.load(), 5u);
  EXPECT_EQ(sched.counters().events_played.load(), 4u);
  EXPECT_EQ(sched.pending_events(), 0u);
}

// Without a limit (offline renders, the default) every late note plays.
TEST(Scheduler, WithoutALimitEveryLateNoteOnPlays) {
  Scheduler sched(options());
  run(sched, 0, 48000, 256);
  sched.note_on(kTpq, 0, 62, 100);
  EXPECT_EQ(run(sched, 48128, 48128 + 256, 256).size(), 1u);
  EXPECT_EQ(sched.counters().late_note_ons_dropped.load(), 0u);
}

TEST(Scheduler, FullStoreDropsAndCounts) {
  SchedulerOptions o = options();
  o.max_events = 4;
  Scheduler sched(o);
  for (int i = 0; i < 6; ++i) sched.note_on(kTpq * 10 + i, 0, 60 + i, 100);
  const std::vector<Played> played = run(sched, 0, 256, 256);
  EXPECT_TRUE(played.empty());
  EXPECT_EQ(sched.counters().events_overflowed.load(), 2u);
  EXPECT_EQ(sched.pending_events(), 4u);
}

TEST(Scheduler, FullQueueRefusesAndCounts) {
  SchedulerOptions o = options();
  o.command_queue_size = 2;
  Scheduler sched(o);
  EXPECT_TRUE(sched.note_on(0, 0, 60, 100));
  EXPECT_TRUE(sched.note_on(0, 0, 61, 100));
  EXPECT_FALSE(sched.note_on(0, 0, 62, 100));
  EXPECT_EQ(sched.counters().commands_rejected.load(), 1u);
}

TEST(Scheduler, LiveTempoChangeWaitsForTheNextBeatBoundary) {
  Scheduler sched(options());
  run(sched, 0, 36000, 256);  // the playhead is in beat 1 (frames 24000..48000)
  // Asked mid-beat; lands on beat 2 (frame 48000). At 60 BPM a beat is 48000 frames.
  sched.change_tempo_at_next_beat(0, 60.0);
  sched.note_on(2 * kTpq - 1, 0, 60, 100);  // just before the boundary: old tempo
  sched.note_on(3 * kTpq, 0, 62, 100);      // one beat after it: new tempo
  const std::vector<Played> played = run(sched, 36096, 100000, 256);
  ASSERT_EQ(played.size(), 2u);
  EXPECT_EQ(played[0].frame, 48000u - 50u);
  EXPECT_EQ(played[1].frame, 48000u + 48000u);
  EXPECT_DOUBLE_EQ(sched.tempo_bpm(), 60.0);
  EXPECT_EQ(sched.counters().events_late.load(), 0u);
}

TEST(Scheduler, FileTempoChangeAppliesAtItsExactTick) {
  Scheduler sched(options());
  sched.change_tempo(kTpq, 60.0);
  sched.note_on(2 * kTpq, 0, 60, 100);
  const std::vector<Played> played = run(sched, 0, 80000, 128);
  ASSERT_EQ(played.size(), 1u);
  EXPECT_EQ(played[0].frame, 24000u + 48000u);
}

TEST(Scheduler, AllNotesOffActsAtTheNextPeriodAndKeepsTheSchedule) {
  Scheduler sched(options());
  sched.note_on(kTpq, 0, 60, 100);
  sched.all_notes_off();
  const std::vector<Played> first = run(sched, 0, 256, 256);
  int n_all_notes_off = 0;
  for (const Played& p : first) {
    EXPECT_EQ(p.frame, 0u);
    if ((p.message.bytes[0] & 0xF0) == 0xB0 && p.message.bytes[1] == 123) ++n_all_notes_off;
  }
  EXPECT_EQ(n_all_notes_off, kMidiChannels);
  EXPECT_EQ(run(sched, 256, 30000, 256).size(), 1u);  // the note still plays
}

TEST(Scheduler, InstantControlComesFirstInTheNextPeriod) {
  Scheduler sched(options());
  run(sched, 0, 24000, 256);            // the playhead is at beat 1
  sched.note_on(kTpq + 3, 2, 60, 100);  // due early in the next period (frame 24150)
  MidiMessage mute;
  mute.size = 3;
  mute.bytes[0] = 0xB2;  // channel 3 volume
  mute.bytes[1] = 7;
  mute.bytes[2] = 0;
  sched.send_now(mute);
  const std::vector<Played> played = run(sched, 24064, 24064 + 256, 256);
  ASSERT_EQ(played.size(), 2u);
  EXPECT_EQ(played[0].frame, 24064u);
  EXPECT_EQ(played[0].message.bytes[0], 0xB2);
  EXPECT_EQ(played[1].frame, 24150u);
  EXPECT_EQ(sched.counters().events_late.load(), 0u);
}

TEST(Scheduler, StopDropsEverythingScheduled) {
  Scheduler sched(options());
  for (int i = 0; i < 10; ++i) sched.note_on(kTpq * (i + 1), 0, 60, 100);
  sched.stop();
  run(sched, 0, 256, 256);
  EXPECT_TRUE(run(sched, 256, 300000, 256).empty());
  EXPECT_EQ(sched.pending_events(), 0u);
}

TEST(Scheduler, PublishesThePlayhead) {
  Scheduler sched(options());
  run(sched, 0, 24000, 240);
  EXPECT_EQ(sched.playhead_frame(), 24000u);
  EXPECT_EQ(sched.playhead_tick(), kTpq);
}

}  // namespace
}  // namespace jamd::realtime
