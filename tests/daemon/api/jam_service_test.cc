// The Jam service's unary calls on a real loopback server: roles, tokens, ranges, sizes, locks,
// mood words, status and health.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include <future>

#include "tests/daemon/api/api_test_util.h"

namespace jamd::api::testing {
namespace {

TEST(JamService, CreateAndJoinGiveRolesByToken) {
  Loopback server;
  auto stub = server.stub();
  const jam::v1::CreateJamResponse jam = create(*stub);
  EXPECT_NE(jam.host_token(), jam.player_token());
  EXPECT_NE(jam.player_token(), jam.listener_token());
  EXPECT_EQ(join(*stub, jam.host_token(), "h").role(), jam::v1::ROLE_HOST);
  EXPECT_EQ(join(*stub, jam.player_token(), "p").role(), jam::v1::ROLE_PLAYER);
  const jam::v1::JoinJamResponse l = join(*stub, jam.listener_token(), "l");
  EXPECT_EQ(l.role(), jam::v1::ROLE_LISTENER);
  EXPECT_EQ(l.jam_id(), jam.jam_id());
  EXPECT_EQ(l.state().tempo_bpm(), 100);
}

TEST(JamService, WrongTokenIsUnauthenticated) {
  Loopback server;
  auto stub = server.stub();
  const jam::v1::CreateJamResponse jam = create(*stub);
  grpc::ClientContext ctx;
  jam::v1::JoinJamRequest req;
  req.set_join_token(jam.player_token() + "0");
  jam::v1::JoinJamResponse res;
  EXPECT_EQ(stub->JoinJam(&ctx, req, &res).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(steer(*stub, "jt_forged", tempo(120), "tempo_bpm").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST(JamService, ListenerCannotSteer) {
  Loopback server;
  auto stub = server.stub();
  const jam::v1::JoinJamResponse l = join(*stub, create(*stub).listener_token(), "l");
  const grpc::Status st = steer(*stub, l.participant_token(), tempo(120), "tempo_bpm");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  EXPECT_NE(st.error_message().find("listener"), std::string::npos);
}

TEST(JamService, PlayerCannotLockEndOrRemove) {
  Loopback server;
  auto stub = server.stub();
  const jam::v1::CreateJamResponse jam = create(*stub);
  const jam::v1::JoinJamResponse h = join(*stub, jam.host_token(), "h");
  const jam::v1::JoinJamResponse p = join(*stub, jam.player_token(), "p");
  {
    grpc::ClientContext ctx;
    jam::v1::LockFieldsRequest req;
    req.set_participant_token(p.participant_token());
    req.mutable_paths()->add_paths("tempo_bpm");
    req.set_locked(true);
    jam::v1::LockFieldsResponse res;
    EXPECT_EQ(stub->LockFields(&ctx, req, &res).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    grpc::ClientContext ctx;
    jam::v1::EndJamRequest req;
    req.set_participant_token(p.participant_token());
    jam::v1::EndJamResponse res;
    EXPECT_EQ(stub->EndJam(&ctx, req, &res).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    grpc::ClientContext ctx;
    jam::v1::RemoveParticipantRequest req;
    req.set_participant_token(p.participant_token());
    req.set_participant_id(h.participant_id());
    jam::v1::RemoveParticipantResponse res;
    EXPECT_EQ(stub->RemoveParticipant(&ctx, req, &res).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
}

TEST(JamService, HostLockRefusesPlayersUntilUnlocked) {
  Loopback server;
  auto stub = server.stub();
  const jam::v1::CreateJamResponse jam = create(*stub);
  const jam::v1::JoinJamResponse h = join(*stub, jam.host_token(), "h");
  const jam::v1::JoinJamResponse p = join(*stub, jam.player_token(), "p");
  auto lock = [&](bool locked) {
    grpc::ClientContext ctx;
    jam::v1::LockFieldsRequest req;
    req.set_participant_token(h.participant_token());
    req.mutable_paths()->add_paths("tempo_bpm");
    req.set_locked(locked);
    jam::v1::LockFieldsResponse res;
    EXPECT_TRUE(stub->LockFields(&ctx, req, &res).ok());
    return res;
  };
  EXPECT_EQ(lock(true).locked_paths_size(), 1);
  const grpc::Status refused = steer(*stub, p.participant_token(), tempo(140), "tempo_bpm");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(refused.error_message().find("locked"), std::string::npos);
  EXPECT_TRUE(steer(*stub, h.participant_token(), tempo(140), "tempo_bpm").ok());
  EXPECT_EQ(lock(false).locked_paths_size(), 0);
  EXPECT_TRUE(steer(*stub, p.participant_token(), tempo(141), "tempo_bpm").ok());
}

TEST(JamService, OutOfRangeIsInvalidArgumentNamingFieldAndRange) {
  Loopback server;
  auto stub = server.stub();
  const jam::v1::JoinJamResponse p = join(*stub, create(*stub).player_token(), "p");
  const grpc::Status st = steer(*stub, p.participant_token(), tempo(999), "tempo_bpm");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("tempo_bpm"), std::string::npos) << st.error_message();
  EXPECT_NE(st.error_message().find("30..300"), std::string::npos) << st.error_message();
}

TEST(JamService, MonitorVolumeTravelsBothWaysAndIsRangeChecked) {
  Loopback server;
  auto stub = server.stub();
  const jam::v1::JoinJamResponse p = join(*stub, create(*stub).player_token(), "p");
  EXPECT_FLOAT_EQ(p.state().monitor_volume(), 0.8f) << "the default, JamState's";
  jam::v1::JamState values;
  values.set_monitor_volume(0.3f);
  jam::v1::SteerResponse res;
  ASSERT_TRUE(steer(*stub, p.participant_token(), values, "monitor_volume", &res).ok());
  EXPECT_FLOAT_EQ(res.state().monitor_volume(), 0.3f);
  EXPECT_FLOAT_EQ(res.state().master_volume(), 0.8f) << "not named, so unchanged";
  values.set_monitor_volume(-0.5f);
  const grpc::Status st = steer(*stub, p.participant_token(), values, "monitor_volume");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("monitor_volume"), std::string::npos) << st.error_message();
}

TEST(JamService, MalformedUpdatesAreInvalidArgument) {
  Loopback server;
  auto stub = server.stub();
  const jam::v1::JoinJamResponse p = join(*stub, create(*stub).player_token(), "p");
  EXPECT_EQ(steer(*stub, p.participant_token(), tempo(120), "tempo").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);  // unknown path
  EXPECT_EQ(steer(*stub, p.participant_token(), jam::v1::JamState{}, "scale").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);  // SCALE_UNSPECIFIED
  grpc::ClientContext ctx;
  jam::v1::SteerRequest req;  // no mask at all
  req.set_participant_token(p.participant_token());
  jam::v1::SteerResponse res;
  EXPECT_EQ(stub->Steer(&ctx, req, &res).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(JamService, OversizedRequestIsResourceExhausted) {
  Loopback server;
  auto stub = server.stub();
  const jam::v1::JoinJamResponse p = join(*stub, create(*stub).player_token(), "p");
  jam::v1::JamState state;
  jam::v1::MoodPrompt* m = state.add_mood();
  m->set_text(std::string(200 * 1024, 'a'));
  m->set_weight(1);
  EXPECT_EQ(steer(*stub, p.participant_token(), state, "mood").error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST(JamService, UnknownMoodWordSuggestsCloseWords) {
  Loopback server;
  auto stub = server.stub();
  const jam::v1::JoinJamResponse p = join(*stub, create(*stub).player_token(), "p");
  jam::v1::JamState state;
  jam::v1::MoodPrompt* m = state.add_mood();
  m->set_text("funcky");
  m->set_weight(1);
  const grpc::Status st = steer(*stub, p.participant_token(), state, "mood");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("funky"), std::string::npos) << st.error_message();
}

TEST(JamService, RateLimitIsResourceExhausted) {
  SessionLimits limits;
  limits.steer_rate_per_s = 0;
  limits.steer_burst = 2;
  Loopback server(limits);
  auto stub = server.stub();
  const jam::v1::JoinJamResponse p = join(*stub, create(*stub).player_token(), "p");
  EXPECT_TRUE(steer(*stub, p.participant_token(), tempo(120), "tempo_bpm").ok());
  EXPECT_TRUE(steer(*stub, p.participant_token(), tempo(121), "tempo_bpm").ok());
  EXPECT_EQ(steer(*stub, p.participant_token(), tempo(122), "tempo_bpm").error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST(JamService, AudioAndNotesStreamsFailWithoutMusic) {
  Loopback server;
  auto stub = server.stub();
  const jam::v1::JoinJamResponse l = join(*stub, create(*stub).listener_token(), "l");
  grpc::ClientContext ctx;
  jam::v1::ListenAudioRequest req;
  req.set_participant_token(l.participant_token());
  auto reader = stub->ListenAudio(&ctx, req);
  jam::v1::AudioPacket packet;
  EXPECT_FALSE(reader->Read(&packet));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::FAILED_PRECONDITION);  // sessions only
  grpc::ClientContext ctx2;
  jam::v1::ListenNotesRequest notes;
  notes.set_participant_token("jt_bad");
  auto notes_reader = stub->ListenNotes(&ctx2, notes);
  jam::v1::NoteEvent note;
  EXPECT_FALSE(notes_reader->Read(&note));
  EXPECT_EQ(notes_reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST(JamService, StatusCountsJamsAndParticipants) {
  Loopback server;
  auto stub = server.stub();
  const jam::v1::CreateJamResponse jam = create(*stub);
  join(*stub, jam.host_token(), "h");
  join(*stub, jam.player_token(), "p");
  grpc::ClientContext ctx;
  jam::v1::GetStatusResponse res;
  ASSERT_TRUE(stub->GetStatus(&ctx, jam::v1::GetStatusRequest{}, &res).ok());
  EXPECT_EQ(res.n_jams(), 1);
  EXPECT_EQ(res.n_participants(), 2);
  EXPECT_FALSE(res.version().empty());
}

// Sends raw bytes to a method; returns the call's status.
grpc::Status raw_call(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                      const std::string& bytes) {
  grpc::GenericStub generic(channel);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext ctx;
  std::promise<grpc::Status> done;
  generic.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                    [&](grpc::Status st) { done.set_value(st); });
  return done.get_future().get();
}

TEST(JamService, UnparseableRequestIsRefusedAndTheServerCarriesOn) {
  Loopback server;
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  // Field 1 claims 100 bytes of a string but the message ends: not a valid SteerRequest.
  const grpc::Status st = raw_call(channel, "/jam.v1.Jam/Steer", std::string("\x0a\x64oops", 6));
  EXPECT_FALSE(st.ok());
  // gRPC itself refuses it before any handler runs (1.51 answers UNIMPLEMENTED); the point is
  // that the call fails and the connection and server stay up.
  EXPECT_NE(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  EXPECT_EQ(raw_call(channel, "/jam.v1.Jam/Steer", "").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);  // the same path with a valid (empty) message
  auto stub = server.stub();
  EXPECT_FALSE(create(*stub).jam_id().empty());
}

TEST(JamService, HealthServiceSaysServing) {
  Loopback server;
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  grpc::GenericStub generic(channel);
  grpc::Slice empty("");  // HealthCheckRequest{service: ""} serializes to no bytes
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext ctx;
  std::promise<grpc::Status> done;
  generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                    [&](grpc::Status st) { done.set_value(st); });
  ASSERT_TRUE(done.get_future().get().ok());
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));  // status: SERVING
}

}  // namespace
}  // namespace jamd::api::testing
