// ListenAudio and ListenNotes on a real loopback jamd with music (the bundled model, the real
// synth, the real-time virtual clock): a listener's Opus decodes to the band and a stop silences
// it; the notes change after a steer; any role may listen; a removed listener's stream ends, and
// ending the jam ends every stream cleanly; a recorded jam leaves its take on disk.
#include <sndfile.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <set>

#include "tests/daemon/api/music_loopback.h"

namespace jamd::api::testing {
namespace {

jam::v1::CreateJamResponse create_fast(jam::v1::Jam::Stub& stub) {
  grpc::ClientContext ctx;
  jam::v1::CreateJamResponse res;
  EXPECT_TRUE(stub.CreateJam(&ctx, fast_jam(), &res).ok());
  return res;
}

TEST(Listen, OpusDecodesToTheBandAndAStopSilencesIt) {
  MusicLoopback server;
  auto stub = server.stub();
  const jam::v1::CreateJamResponse jam = create_fast(*stub);
  const jam::v1::JoinJamResponse listener = join(*stub, jam.listener_token(), "lia");
  const jam::v1::JoinJamResponse player = join(*stub, jam.player_token(), "ana");
  AudioListener audio(*stub, listener.participant_token());
  audio.read_seconds(4.0);  // four bars at 240 BPM
  const size_t heard_frames = audio.pcm().size() / 2;
  ASSERT_GE(heard_frames, 4u * 48000u);
  EXPECT_GT(audio.rms(0, heard_frames), 1e-3) << "the band should be audible";
  for (size_t i = 1; i < audio.packets().size(); ++i) {
    EXPECT_EQ(audio.packets()[i].sample_time_frames(),
              audio.packets()[i - 1].sample_time_frames() + 480);
    EXPECT_EQ(audio.packets()[i].frames_per_packet(), 480);
  }
  jam::v1::JamState stop;
  stop.set_playing(false);
  ASSERT_TRUE(steer(*stub, player.participant_token(), stop, "playing").ok());
  const size_t steered_at = audio.pcm().size() / 2;
  audio.read_seconds(2.0);
  // Packets still flow (the stream is alive) but carry silence once the stop reached the RT
  // thread: well within half a second of the packets the listener had when it steered.
  const size_t after = audio.pcm().size() / 2;
  ASSERT_GE(after, steered_at + 2 * 48000);
  EXPECT_LT(audio.rms(steered_at + 24000, after), 1e-5);
}

// GetStatus sums the playing jams' real-time health: what `jamctl status` shows an operator. The
// conductor is held up for 3 s (an overloaded machine), so the jam really has late notes, some of
// them dropped, and rests where nothing was planned; each field is checked between the host's
// counts just before and just after.
TEST(Listen, StatusReportsThePlayingJamsAudioAndHealth) {
  MusicLoopback server;
  auto stub = server.stub();
  const jam::v1::CreateJamResponse jam = create_fast(*stub);
  const jam::v1::JoinJamResponse listener = join(*stub, jam.listener_token(), "lia");
  AudioListener audio(*stub, listener.participant_token());
  audio.read_seconds(1.0);
  server.conductor().stop();
  audio.read_seconds(3.0);  // past the planned bars: the band falls silent
  server.conductor().start();
  audio.read_seconds(1.0);  // the notes it had planned come late; past its plan, it rests
  ASSERT_GE(audio.packets().size(), 400u);
  const std::vector<HostedJamStats> before = server.hosted().stats();
  grpc::ClientContext ctx;
  jam::v1::GetStatusResponse res;
  ASSERT_TRUE(stub->GetStatus(&ctx, jam::v1::GetStatusRequest{}, &res).ok());
  const std::vector<HostedJamStats> after = server.hosted().stats();
  ASSERT_EQ(before.size(), 1u);
  ASSERT_EQ(after.size(), 1u);
  const JamHostStats& b = before[0].host;
  const JamHostStats& a = after[0].host;
  ASSERT_GT(b.late_note_ons_dropped, 0u) << "the held-up conductor made no late notes";
  ASSERT_GT(b.unplanned_frames, 0u) << "the band did not rest past the held-up conductor's plan";
  EXPECT_EQ(res.n_playing_jams(), 1);
  EXPECT_GE(res.audio_seconds(), static_cast<double>(b.frames_played) / 48000.0);
  EXPECT_LE(res.audio_seconds(), static_cast<double>(a.frames_played) / 48000.0);
  EXPECT_GE(res.audio_packets(), before[0].streamer.packets);
  EXPECT_LE(res.audio_packets(), after[0].streamer.packets);
  EXPECT_GE(res.late_events(), b.late_events);
  EXPECT_LE(res.late_events(), a.late_events);
  EXPECT_GE(res.late_notes_dropped(), b.late_note_ons_dropped);
  EXPECT_LE(res.late_notes_dropped(), a.late_note_ons_dropped);
  EXPECT_GE(res.unplanned_seconds(), static_cast<double>(b.unplanned_frames) / 48000.0);
  EXPECT_LE(res.unplanned_seconds(), static_cast<double>(a.unplanned_frames) / 48000.0);
  // Xruns cannot be made on demand here: only bounded.
  EXPECT_GE(res.xruns(), b.xruns);
  EXPECT_LE(res.xruns(), a.xruns);
}

// jamd serve --record DIR: every jam is recorded into DIR/<jam id>/ while it plays.
TEST(Listen, ARecordedJamLeavesItsMixAndNotesOnDisk) {
  const std::string dir = ::testing::TempDir() + "jamd_record_" + std::to_string(getpid());
  HostedJamsOptions options;
  options.record_directory = dir;
  std::string jam_id;
  {
    MusicLoopback server(options);
    auto stub = server.stub();
    const jam::v1::CreateJamResponse jam = create_fast(*stub);
    jam_id = jam.jam_id();
    const jam::v1::JoinJamResponse host = join(*stub, jam.host_token(), "hana");
    AudioListener audio(*stub, host.participant_token());
    audio.read_seconds(2.0);  // the band has played two bars
    ASSERT_EQ(server.hosted().stats().at(0).recording, dir + "/" + jam_id);
    grpc::ClientContext ctx;
    jam::v1::EndJamRequest end;
    end.set_participant_token(host.participant_token());
    jam::v1::EndJamResponse ended;
    ASSERT_TRUE(stub->EndJam(&ctx, end, &ended).ok());
    server.hosted().wait_idle();  // the recorder has stopped and written everything
  }
  const std::string take = dir + "/" + jam_id;
  SF_INFO info{};
  SNDFILE* mix = sf_open((take + "/mix.wav").c_str(), SFM_READ, &info);
  ASSERT_NE(mix, nullptr) << sf_strerror(nullptr);
  std::vector<float> pcm(static_cast<size_t>(info.frames * info.channels));
  sf_readf_float(mix, pcm.data(), info.frames);
  sf_close(mix);
  EXPECT_GE(info.frames, 2 * 48000);
  float peak = 0;
  for (float x : pcm) peak = std::max(peak, std::abs(x));
  EXPECT_GT(peak, 1e-3f) << "the recorded mix should hold the band";
  EXPECT_GT(std::filesystem::file_size(take + "/jam.mid"), 100u);
  std::filesystem::remove_all(dir);
}

TEST(Listen, NotesChangeAfterASteer) {
  MusicLoopback server;
  auto stub = server.stub();
  const jam::v1::CreateJamResponse jam = create_fast(*stub);
  const jam::v1::JoinJamResponse player = join(*stub, jam.player_token(), "ana");
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kGiveUp);
  jam::v1::ListenNotesRequest req;
  req.set_participant_token(player.participant_token());
  auto reader = stub->ListenNotes(&ctx, req);
  // Before: the band as created (every part on) until bar 3.
  std::set<std::string> parts_before;
  jam::v1::NoteEvent note;
  int64_t last_bar = 0;
  while (last_bar < 3 && reader->Read(&note)) {
    EXPECT_EQ(note.source(), jam::v1::NOTE_SOURCE_GENERATED);
    EXPECT_EQ(note.sample_rate_hz(), 48000);
    parts_before.insert(note.part());
    last_bar = std::max(last_bar, note.bar());
  }
  ASSERT_TRUE(parts_before.count("drums") + parts_before.count("bass") > 0)
      << "the test needs drums or bass before the steer";
  // Drums and bass off: they are a model mask, so from the next bar that is not yet committed.
  jam::v1::SteerRequest off;
  off.set_participant_token(player.participant_token());
  off.mutable_update_mask()->add_paths("parts.drums.enabled");
  off.mutable_update_mask()->add_paths("parts.bass.enabled");
  grpc::ClientContext steer_ctx;
  jam::v1::SteerResponse res;
  ASSERT_TRUE(stub->Steer(&steer_ctx, off, &res).ok());
  const int64_t steered_bar = last_bar;
  std::set<std::string> parts_after;
  while (last_bar < steered_bar + 4 && reader->Read(&note)) {
    last_bar = std::max(last_bar, note.bar());
    if (note.bar() >= steered_bar + 2) parts_after.insert(note.part());
  }
  EXPECT_GE(last_bar, steered_bar + 4) << "the notes stream stopped";
  EXPECT_FALSE(parts_after.empty());
  EXPECT_EQ(parts_after.count("drums"), 0u);
  EXPECT_EQ(parts_after.count("bass"), 0u);
  ctx.TryCancel();
}

TEST(Listen, AnyRoleListensARemovedListenerIsCutOffAndEndingEndsEveryStream) {
  MusicLoopback server;
  auto stub = server.stub();
  const jam::v1::CreateJamResponse jam = create_fast(*stub);
  const jam::v1::JoinJamResponse host = join(*stub, jam.host_token(), "hal");
  const jam::v1::JoinJamResponse player = join(*stub, jam.player_token(), "ana");
  const jam::v1::JoinJamResponse listener = join(*stub, jam.listener_token(), "lia");
  AudioListener host_ears(*stub, host.participant_token());
  AudioListener player_ears(*stub, player.participant_token());
  AudioListener listener_ears(*stub, listener.participant_token());
  for (AudioListener* l : {&host_ears, &player_ears, &listener_ears}) ASSERT_TRUE(l->read_one());
  // A listener still may not steer.
  EXPECT_EQ(steer(*stub, listener.participant_token(), tempo(120), "tempo_bpm").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  {
    grpc::ClientContext ctx;
    jam::v1::RemoveParticipantRequest req;
    req.set_participant_token(host.participant_token());
    req.set_participant_id(listener.participant_id());
    jam::v1::RemoveParticipantResponse res;
    ASSERT_TRUE(stub->RemoveParticipant(&ctx, req, &res).ok());
  }
  while (listener_ears.read_one()) {
  }
  EXPECT_EQ(listener_ears.finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // A retired token cannot open a new stream.
  {
    AudioListener again(*stub, listener.participant_token());
    EXPECT_FALSE(again.read_one());
    EXPECT_EQ(again.finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  player_ears.read_seconds(0.5);  // the others carry on
  {
    grpc::ClientContext ctx;
    jam::v1::EndJamRequest req;
    req.set_participant_token(host.participant_token());
    jam::v1::EndJamResponse res;
    ASSERT_TRUE(stub->EndJam(&ctx, req, &res).ok());
  }
  for (AudioListener* l : {&host_ears, &player_ears}) {
    while (l->read_one()) {
    }
    EXPECT_TRUE(l->finish().ok());
  }
}

TEST(Listen, UnknownTokenIsUnauthenticated) {
  MusicLoopback server;
  auto stub = server.stub();
  AudioListener nobody(*stub, "jt_0123");
  EXPECT_FALSE(nobody.read_one());
  EXPECT_EQ(nobody.finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace jamd::api::testing
