// WatchJam on a real loopback server: several players steering at once converge for every
// watcher, events name who changed what, a vanishing or stalled watcher disturbs nobody, and
// ending the jam ends every watch.
#include <google/protobuf/util/message_differencer.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "tests/daemon/api/api_test_util.h"

namespace jamd::api::testing {
namespace {

using google::protobuf::util::MessageDifferencer;

// Reads a watch until it sees `sequence` (or the stream ends); keeps every event.
struct Watcher {
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<jam::v1::JamEvent>> reader;
  std::vector<jam::v1::JamEvent> events;

  Watcher(jam::v1::Jam::Stub& stub, const std::string& token) {
    jam::v1::WatchJamRequest req;
    req.set_participant_token(token);
    reader = stub.WatchJam(&ctx, req);
  }
  bool read_one() {
    jam::v1::JamEvent e;
    if (!reader->Read(&e)) return false;
    events.push_back(e);
    return true;
  }
  void read_until(uint64_t sequence) {
    while ((events.empty() || events.back().sequence() < sequence) && read_one()) {
    }
  }
};

// Waits (without a timing assertion) until the server's watcher count reaches `n`.
void wait_for_watchers(Loopback& server, size_t n) {
  for (int i = 0; i < 2000 && server.jams().counts().n_watchers != n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

TEST(Watch, TwoPlayersSteeringAtOnceConvergeForEveryWatcher) {
  Loopback server;
  auto stub = server.stub();
  const jam::v1::CreateJamResponse jam = create(*stub);
  const jam::v1::JoinJamResponse host = join(*stub, jam.host_token(), "host");
  const jam::v1::JoinJamResponse ana = join(*stub, jam.player_token(), "ana");
  const jam::v1::JoinJamResponse ben = join(*stub, jam.player_token(), "ben");
  const jam::v1::JoinJamResponse lia = join(*stub, jam.listener_token(), "lia");
  Watcher w_host(*stub, host.participant_token());
  Watcher w_lia(*stub, lia.participant_token());
  ASSERT_TRUE(w_host.read_one());  // snapshots first, so no change is missed
  ASSERT_TRUE(w_lia.read_one());
  EXPECT_EQ(w_host.events[0].kind(), jam::v1::EVENT_KIND_SNAPSHOT);

  constexpr int kSteersEach = 40;
  std::atomic<uint64_t> last_sequence{0};
  auto play = [&](const std::string& token, const char* word, bool tempo_and_bass) {
    auto own = server.stub();
    for (int i = 0; i < kSteersEach; ++i) {
      jam::v1::JamState s;
      s.set_tempo_bpm(90 + i);
      s.set_energy(0.01f * static_cast<float>(i));
      s.mutable_parts()->mutable_bass()->set_volume(0.02f * static_cast<float>(i));
      s.mutable_parts()->mutable_bass()->set_gm_program(33 + i);
      jam::v1::MoodPrompt* m = s.add_mood();
      m->set_text(word);
      m->set_weight(1.0f + static_cast<float>(i));
      jam::v1::SteerResponse res;
      grpc::ClientContext ctx;
      jam::v1::SteerRequest req;
      req.set_participant_token(token);
      *req.mutable_state() = s;
      for (const char* p : tempo_and_bass
                               ? std::vector<const char*>{"tempo_bpm", "parts.bass", "mood"}
                               : std::vector<const char*>{"energy", "tempo_bpm", "mood"}) {
        req.mutable_update_mask()->add_paths(p);
      }
      grpc::Status st = own->Steer(&ctx, req, &res);
      ASSERT_TRUE(st.ok()) << st.error_message();
      uint64_t seen = last_sequence.load();
      while (res.sequence() > seen && !last_sequence.compare_exchange_weak(seen, res.sequence())) {
      }
    }
  };
  std::thread a(play, ana.participant_token(), "dark", true);
  std::thread b(play, ben.participant_token(), "funky", false);
  a.join();
  b.join();

  w_host.read_until(last_sequence);
  w_lia.read_until(last_sequence);
  const jam::v1::JamEvent& final_host = w_host.events.back();
  const jam::v1::JamEvent& final_lia = w_lia.events.back();
  EXPECT_EQ(final_host.sequence(), last_sequence.load());
  EXPECT_TRUE(MessageDifferencer::Equals(final_host.state(), final_lia.state()))
      << final_host.state().DebugString() << "\nvs\n"
      << final_lia.state().DebugString();
  // A newcomer's snapshot agrees too.
  Watcher late(*stub, ana.participant_token());
  ASSERT_TRUE(late.read_one());
  EXPECT_TRUE(MessageDifferencer::Equals(late.events[0].state(), final_host.state()));
  // Both moods blend in the final state, and every change names who made it.
  ASSERT_EQ(final_host.state().mood_size(), 2);
  EXPECT_EQ(final_host.state().mood(0).weight(), kSteersEach);
  EXPECT_EQ(final_host.state().parts().bass().gm_program(), 33 + kSteersEach - 1);
  std::set<std::string> steerers;
  int n_steered = 0;
  for (const jam::v1::JamEvent& e : w_host.events) {
    if (e.kind() != jam::v1::EVENT_KIND_STEERED) continue;
    ++n_steered;
    steerers.insert(e.by().display_name());
    EXPECT_FALSE(e.changed_paths().empty());
  }
  EXPECT_EQ(n_steered, 2 * kSteersEach);
  EXPECT_EQ(steerers, (std::set<std::string>{"ana", "ben"}));
  // Sequence numbers rise by one per event: nobody missed anything.
  for (size_t i = 2; i < w_host.events.size(); ++i) {
    EXPECT_EQ(w_host.events[i].sequence(), w_host.events[i - 1].sequence() + 1);
  }
  w_host.ctx.TryCancel();
  w_lia.ctx.TryCancel();
  late.ctx.TryCancel();
}

TEST(Watch, VanishingWatcherLeaksNothingAndDisturbsNobody) {
  Loopback server;
  auto stub = server.stub();
  const jam::v1::CreateJamResponse jam = create(*stub);
  const jam::v1::JoinJamResponse p = join(*stub, jam.player_token(), "p");
  Watcher stays(*stub, p.participant_token());
  ASSERT_TRUE(stays.read_one());
  {
    // Its own channel, cancelled mid-stream and dropped, as a client that goes away.
    auto other = server.stub();
    Watcher gone(*other, p.participant_token());
    ASSERT_TRUE(gone.read_one());
    wait_for_watchers(server, 2);
    EXPECT_EQ(server.jams().counts().n_watchers, 2u);
    gone.ctx.TryCancel();
  }
  wait_for_watchers(server, 1);
  EXPECT_EQ(server.jams().counts().n_watchers, 1u);
  jam::v1::SteerResponse res;
  ASSERT_TRUE(steer(*stub, p.participant_token(), tempo(123), "tempo_bpm", &res).ok());
  stays.read_until(res.sequence());
  EXPECT_EQ(stays.events.back().state().tempo_bpm(), 123);
  stays.ctx.TryCancel();
}

TEST(Watch, StalledWatcherNeverSlowsSteeringOrOthers) {
  SessionLimits limits = test_limits();
  limits.watcher_queue_events = 4;
  Loopback server(limits);
  auto stub = server.stub();
  const jam::v1::JoinJamResponse p = join(*stub, create(*stub).player_token(), "p");
  auto stalled_stub = server.stub();
  Watcher stalled(*stalled_stub, p.participant_token());  // never reads until the end
  Watcher reader(*stub, p.participant_token());
  jam::v1::SteerResponse res;
  for (int i = 0; i < 300; ++i) {
    jam::v1::JamState s;
    s.set_seed(static_cast<uint64_t>(i + 1));
    ASSERT_TRUE(steer(*stub, p.participant_token(), s, "seed", &res).ok());
  }
  reader.read_until(res.sequence());
  EXPECT_EQ(reader.events.back().state().seed(), 300u);
  stalled.read_until(res.sequence());  // late, but it converges on the same state
  EXPECT_EQ(stalled.events.back().state().seed(), 300u);
  stalled.ctx.TryCancel();
  reader.ctx.TryCancel();
}

TEST(Watch, EndingTheJamEndsEveryWatchCleanly) {
  Loopback server;
  auto stub = server.stub();
  const jam::v1::CreateJamResponse jam = create(*stub);
  const jam::v1::JoinJamResponse h = join(*stub, jam.host_token(), "h");
  const jam::v1::JoinJamResponse l = join(*stub, jam.listener_token(), "l");
  Watcher w(*stub, l.participant_token());
  ASSERT_TRUE(w.read_one());
  grpc::ClientContext ctx;
  jam::v1::EndJamRequest req;
  req.set_participant_token(h.participant_token());
  jam::v1::EndJamResponse res;
  ASSERT_TRUE(stub->EndJam(&ctx, req, &res).ok());
  while (w.read_one()) {
  }
  EXPECT_EQ(w.events.back().kind(), jam::v1::EVENT_KIND_JAM_ENDED);
  EXPECT_EQ(w.events.back().by().participant_id(), h.participant_id());
  EXPECT_TRUE(w.reader->Finish().ok());
  // The tokens are retired with the jam.
  EXPECT_EQ(steer(*stub, h.participant_token(), tempo(120), "tempo_bpm").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST(Watch, ServerShutdownEndsOpenWatches) {
  Loopback server;
  auto stub = server.stub();
  const jam::v1::JoinJamResponse p = join(*stub, create(*stub).player_token(), "p");
  Watcher w(*stub, p.participant_token());
  ASSERT_TRUE(w.read_one());
  server.server().shutdown(absl::Milliseconds(100));
  while (w.read_one()) {
  }
  EXPECT_FALSE(w.reader->Finish().ok());
  EXPECT_EQ(server.jams().counts().n_watchers, 0u);
}

}  // namespace
}  // namespace jamd::api::testing
