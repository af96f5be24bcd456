// JamSession: partial updates, roles, host locks, mood merging, ranges, rate limit, events,
// bounded watcher queues, and the conductor sink.
#include "daemon/session/jam_session.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace jamd {
namespace {

class RecordingSink : public JamStateSink {
 public:
  void on_jam_state(const std::string& jam_id, uint64_t sequence, const JamState& state) override {
    jam_ids.push_back(jam_id);
    sequences.push_back(sequence);
    states.push_back(state);
  }
  void on_jam_ended(const std::string& jam_id) override { ended.push_back(jam_id); }
  std::vector<std::string> jam_ids;
  std::vector<uint64_t> sequences;
  std::vector<JamState> states;
  std::vector<std::string> ended;
};

std::vector<JamEvent> drain(EventQueue& q) {
  std::vector<JamEvent> out;
  while (std::optional<JamEvent> e = q.pop()) out.push_back(*std::move(e));
  return out;
}

TEST(JamSession, SteerChangesOnlyTheNamedFields) {
  JamSession jam("j", JamState{}, SessionLimits{}, nullptr);
  const Participant p = *jam.join(Role::kPlayer, "ana");
  JamState values;
  values.tempo_bpm = 133;
  values.key_tonic = 7;  // not named: must not change
  ASSERT_TRUE(jam.steer(p.participant_id, values, {"tempo_bpm"}).ok());
  EXPECT_EQ(jam.state().tempo_bpm, 133);
  EXPECT_EQ(jam.state().key_tonic, JamState{}.key_tonic);
}

TEST(JamSession, PartGroupPathSetsEveryFieldOfThePart) {
  JamSession jam("j", JamState{}, SessionLimits{}, nullptr);
  const Participant p = *jam.join(Role::kPlayer, "");
  JamState values;
  values.parts[kPartBass] = PartState{
      .enabled = false, .muted = true, .gm_program = 38, .volume = 0.3f, .density_class = 4};
  ASSERT_TRUE(jam.steer(p.participant_id, values, {"parts.bass"}).ok());
  EXPECT_EQ(jam.state().parts[kPartBass].gm_program, 38);
  EXPECT_TRUE(jam.state().parts[kPartBass].muted);
  EXPECT_EQ(jam.state().parts[kPartKeys].gm_program, JamState{}.parts[kPartKeys].gm_program);
}

TEST(JamSession, ListenerCannotSteer) {
  JamSession jam("j", JamState{}, SessionLimits{}, nullptr);
  const Participant l = *jam.join(Role::kListener, "");
  JamState values;
  values.tempo_bpm = 90;
  EXPECT_EQ(jam.steer(l.participant_id, values, {"tempo_bpm"}).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(JamSession, OutOfRangeNamesFieldAndRange) {
  JamSession jam("j", JamState{}, SessionLimits{}, nullptr);
  const Participant p = *jam.join(Role::kPlayer, "");
  JamState values;
  values.parts[kPartLead].gm_program = 200;
  absl::Status st = jam.steer(p.participant_id, values, {"parts.lead.gm_program"}).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("parts.lead.gm_program"), std::string::npos) << st;
  EXPECT_NE(st.message().find("0..127"), std::string::npos) << st;
}

TEST(JamSession, MonitorVolumeIsSteerableWithinItsRange) {
  JamSession jam("j", JamState{}, SessionLimits{}, nullptr);
  const Participant p = *jam.join(Role::kPlayer, "");
  JamState values;
  values.monitor_volume = 0.25f;
  values.master_volume = 0.1f;  // not named: must not change
  ASSERT_TRUE(jam.steer(p.participant_id, values, {"monitor_volume"}).ok());
  EXPECT_EQ(jam.state().monitor_volume, 0.25f);
  EXPECT_EQ(jam.state().master_volume, JamState{}.master_volume);
  values.monitor_volume = 1.5f;
  const absl::Status st = jam.steer(p.participant_id, values, {"monitor_volume"}).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("monitor_volume"), std::string::npos) << st;
  EXPECT_NE(st.message().find("0..1"), std::string::npos) << st;
  EXPECT_EQ(jam.state().monitor_volume, 0.25f);
}

TEST(JamSession, UnknownPathIsInvalidArgument) {
  JamSession jam("j", JamState{}, SessionLimits{}, nullptr);
  const Participant p = *jam.join(Role::kPlayer, "");
  EXPECT_EQ(jam.steer(p.participant_id, JamState{}, {"tempo"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(jam.steer(p.participant_id, JamState{}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(JamSession, HostLockStopsPlayersButNotTheHost) {
  JamSession jam("j", JamState{}, SessionLimits{}, nullptr);
  const Participant host = *jam.join(Role::kHost, "");
  const Participant p = *jam.join(Role::kPlayer, "");
  EXPECT_EQ(jam.set_locks(p.participant_id, {"tempo_bpm"}, true).status().code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(jam.set_locks(host.participant_id, {"tempo_bpm"}, true).ok());
  JamState values;
  values.tempo_bpm = 150;
  EXPECT_EQ(jam.steer(p.participant_id, values, {"tempo_bpm"}).status().code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(jam.steer(host.participant_id, values, {"tempo_bpm"}).ok());
  EXPECT_EQ(jam.state().tempo_bpm, 150);
  ASSERT_TRUE(jam.set_locks(host.participant_id, {"tempo_bpm"}, false).ok());
  values.tempo_bpm = 80;
  EXPECT_TRUE(jam.steer(p.participant_id, values, {"tempo_bpm"}).ok());
}

TEST(JamSession, MoodsOfPlayersMergeByWeightAndGoWhenTheyLeave) {
  JamSession jam("j", JamState{}, SessionLimits{}, nullptr);
  const Participant a = *jam.join(Role::kPlayer, "a");
  const Participant b = *jam.join(Role::kPlayer, "b");
  JamState va;
  va.mood = {{"dark", 1.0f}, {"funky", 2.0f}};
  JamState vb;
  vb.mood = {{"Dark", 3.0f}};
  ASSERT_TRUE(jam.steer(a.participant_id, va, {"mood"}).ok());
  ASSERT_TRUE(jam.steer(b.participant_id, vb, {"mood"}).ok());
  std::vector<MoodPrompt> mood = jam.state().mood;
  ASSERT_EQ(mood.size(), 2u);
  EXPECT_EQ(mood[0].text, "dark");
  EXPECT_FLOAT_EQ(mood[0].weight, 4.0f);
  EXPECT_EQ(mood[1].text, "funky");
  ASSERT_TRUE(jam.leave(b.participant_id).ok());
  mood = jam.state().mood;
  ASSERT_EQ(mood.size(), 2u);
  EXPECT_EQ(mood[0].text, "funky");
  EXPECT_FLOAT_EQ(mood[1].weight, 1.0f);
}

TEST(JamSession, UnknownMoodWordSuggestsCloseWords) {
  JamSession jam("j", JamState{}, SessionLimits{}, nullptr);
  const Participant p = *jam.join(Role::kPlayer, "");
  JamState values;
  values.mood = {{"hapy", 1.0f}};
  absl::Status st = jam.steer(p.participant_id, values, {"mood"}).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("happy"), std::string::npos) << st;
}

TEST(JamSession, RateLimitPerParticipant) {
  SessionLimits limits;
  limits.steer_rate_per_s = 0;  // no refill: exactly `burst` steers
  limits.steer_burst = 3;
  JamSession jam("j", JamState{}, limits, nullptr);
  const Participant a = *jam.join(Role::kPlayer, "");
  const Participant b = *jam.join(Role::kPlayer, "");
  JamState values;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(jam.steer(a.participant_id, values, {"seed"}).ok());
  EXPECT_EQ(jam.steer(a.participant_id, values, {"seed"}).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(jam.steer(b.participant_id, values, {"seed"}).ok());  // b has its own bucket
}

TEST(JamSession, WatchStartsWithSnapshotThenEventsNameWho) {
  JamSession jam("j", JamState{}, SessionLimits{}, nullptr);
  const Participant p = *jam.join(Role::kPlayer, "ana");
  int n_ready = 0;
  std::shared_ptr<EventQueue> q = *jam.watch(p.participant_id, [&] { ++n_ready; });
  JamState values;
  values.energy = 0.9f;
  const SteerResult r = *jam.steer(p.participant_id, values, {"energy"});
  std::vector<JamEvent> events = drain(*q);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, EventKind::kSnapshot);
  EXPECT_EQ(events[1].kind, EventKind::kSteered);
  EXPECT_EQ(events[1].by.participant_id, p.participant_id);
  EXPECT_EQ(events[1].by.display_name, "ana");
  EXPECT_EQ(events[1].changed_paths, std::vector<std::string>{"energy"});
  EXPECT_EQ(events[1].sequence, r.sequence);
  EXPECT_EQ(events[1].sequence, events[0].sequence + 1);
  EXPECT_FLOAT_EQ(events[1].state.energy, 0.9f);
  EXPECT_GE(n_ready, 2);
}

TEST(JamSession, SlowWatcherDropsItsOwnOldestEventsAndIsTold) {
  SessionLimits limits;
  limits.watcher_queue_events = 4;
  JamSession jam("j", JamState{}, limits, nullptr);
  const Participant p = *jam.join(Role::kPlayer, "");
  std::shared_ptr<EventQueue> slow = *jam.watch(p.participant_id, nullptr);
  JamState values;
  for (int i = 1; i <= 10; ++i) {
    values.seed = static_cast<uint64_t>(i);
    ASSERT_TRUE(jam.steer(p.participant_id, values, {"seed"}).ok());
  }
  std::vector<JamEvent> events = drain(*slow);
  ASSERT_EQ(events.size(), 5u);  // the notice + the 4 newest
  EXPECT_EQ(events[0].kind, EventKind::kEventsDropped);
  EXPECT_EQ(events[0].n_dropped, 7u);  // snapshot + 10 steers - 4 kept
  EXPECT_EQ(events.back().state.seed, 10u);
  EXPECT_EQ(jam.state().seed, 10u);
}

TEST(JamSession, SinkGetsEveryMergedStateInOrder) {
  RecordingSink sink;
  JamSession jam("jam-x", JamState{}, SessionLimits{}, &sink);
  const Participant h = *jam.join(Role::kHost, "");
  JamState values;
  values.tempo_bpm = 120;
  ASSERT_TRUE(jam.steer(h.participant_id, values, {"tempo_bpm"}).ok());
  ASSERT_TRUE(jam.end(h.participant_id).ok());
  ASSERT_EQ(sink.states.size(), 2u);  // creation + the steer (a join changes no state)
  EXPECT_EQ(sink.jam_ids[1], "jam-x");
  EXPECT_EQ(sink.states[1].tempo_bpm, 120);
  EXPECT_LT(sink.sequences[0], sink.sequences[1]);
  EXPECT_EQ(sink.ended, std::vector<std::string>{"jam-x"});
}

TEST(JamSession, EndClosesEveryWatchAfterTheEndEvent) {
  JamSession jam("j", JamState{}, SessionLimits{}, nullptr);
  const Participant h = *jam.join(Role::kHost, "");
  const Participant p = *jam.join(Role::kPlayer, "");
  std::shared_ptr<EventQueue> q = *jam.watch(p.participant_id, nullptr);
  EXPECT_EQ(jam.end(p.participant_id).code(), absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(jam.end(h.participant_id).ok());
  std::vector<JamEvent> events = drain(*q);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().kind, EventKind::kJamEnded);
  EXPECT_TRUE(q->finished());
  EXPECT_EQ(jam.n_watchers(), 0u);
}

TEST(JamSession, HostRemovesAParticipantAndTheirWatchEnds) {
  JamSession jam("j", JamState{}, SessionLimits{}, nullptr);
  const Participant h = *jam.join(Role::kHost, "");
  const Participant p = *jam.join(Role::kPlayer, "");
  std::shared_ptr<EventQueue> q = *jam.watch(p.participant_id, nullptr);
  EXPECT_EQ(jam.remove(p.participant_id, h.participant_id).code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(jam.remove(h.participant_id, p.participant_id).ok());
  std::vector<JamEvent> events = drain(*q);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().kind, EventKind::kRemoved);
  EXPECT_EQ(events.back().subject_participant_id, p.participant_id);
  EXPECT_TRUE(q->finished());
  EXPECT_EQ(jam.n_participants(), 1u);
}

TEST(JamSession, ConcurrentSteersAndWatchersAgreeOnOrderAndFinalState) {
  SessionLimits limits;
  limits.steer_burst = 1e6;
  limits.watcher_queue_events = 100'000;  // large enough that nobody drops here
  JamSession jam("j", JamState{}, limits, nullptr);
  const Participant a = *jam.join(Role::kPlayer, "a");
  const Participant b = *jam.join(Role::kPlayer, "b");
  std::shared_ptr<EventQueue> q1 = *jam.watch(a.participant_id, nullptr);
  std::shared_ptr<EventQueue> q2 = *jam.watch(b.participant_id, nullptr);
  constexpr int kSteers = 500;
  std::atomic<bool> done{false};
  std::vector<JamEvent> seen1, seen2;
  auto reader = [&](EventQueue& q, std::vector<JamEvent>& seen) {
    while (!done.load() || !q.finished()) {
      if (std::optional<JamEvent> e = q.pop()) seen.push_back(*std::move(e));
      if (done.load() && !q.finished()) q.close();
    }
  };
  std::thread r1(reader, std::ref(*q1), std::ref(seen1));
  std::thread r2(reader, std::ref(*q2), std::ref(seen2));
  auto steerer = [&](const Participant& p, double base_bpm) {
    for (int i = 0; i < kSteers; ++i) {
      JamState values;
      values.tempo_bpm = base_bpm + i % 50;
      values.seed = static_cast<uint64_t>(i);
      ASSERT_TRUE(jam.steer(p.participant_id, values, {"tempo_bpm", "seed"}).ok());
    }
  };
  std::thread s1(steerer, a, 60.0);
  std::thread s2(steerer, b, 160.0);
  s1.join();
  s2.join();
  done.store(true);
  r1.join();
  r2.join();
  ASSERT_EQ(seen1.size(), seen2.size());
  for (size_t i = 0; i < seen1.size(); ++i) {
    EXPECT_EQ(seen1[i].sequence, seen2[i].sequence);
    EXPECT_EQ(seen1[i].by.participant_id, seen2[i].by.participant_id);
  }
  EXPECT_EQ(seen1.size(), 1u + 2 * kSteers);
  EXPECT_EQ(seen1.back().state.tempo_bpm, jam.state().tempo_bpm);
}

}  // namespace
}  // namespace jamd
