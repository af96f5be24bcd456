// JamService handlers: authenticate, translate, post to the session layer, translate back.
#include "daemon/api/jam_service.h"

#include <grpcpp/support/proto_buffer_reader.h>

#include <utility>

#include "daemon/api/convert.h"
#include "daemon/api/listen_reactor.h"
#include "daemon/api/media_convert.h"
#include "daemon/session/field_paths.h"

namespace jamd::api {
namespace {

grpc::ServerUnaryReactor* finish(grpc::CallbackServerContext* context, const absl::Status& st) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(to_grpc_status(st));
  return reactor;
}

// A stream that ends at once with a status (errors, and streams not built yet).
template <typename Message>
class FinishedWriter final : public grpc::ServerWriteReactor<Message> {
 public:
  explicit FinishedWriter(const absl::Status& st) { this->Finish(to_grpc_status(st)); }
  void OnDone() override { delete this; }
};

std::vector<std::string> mask_paths(const google::protobuf::FieldMask& mask) {
  return std::vector<std::string>(mask.paths().begin(), mask.paths().end());
}

// A listener's own queue: 50 packets = 500 ms of audio (Opus packets are 10 ms); a listener
// further behind loses its oldest packets. Notes: a busy bar of five parts is ~100 notes.
constexpr size_t kListenAudioQueuePackets = 50;
constexpr size_t kListenNotesQueueNotes = 512;
// One thread starts the idle streams' writes: a write start is a few microseconds, so one keeps
// up with 256 listeners x 100 packets/s; the writes that follow a completion run on gRPC's own
// threads.
constexpr int kWakePumpThreads = 1;

absl::Status no_media() {
  return absl::FailedPreconditionError(
      "this jamd plays no music (it serves sessions only): start it with `jamd serve` and a "
      "model to listen");
}

// Whether the caller still holds their place in the jam (not left, not removed, jam not ended).
std::function<bool()> still_in(const Caller& caller) {
  return [jam = caller.jam, id = caller.participant.participant_id] {
    return !jam->ended() && jam->participant(id).ok();
  };
}

}  // namespace

JamService::JamService(SessionRegistry* jams, std::string backend, JamMedia* media)
    : jams_(jams),
      backend_(std::move(backend)),
      media_(media),
      pump_(WakePump::start(kWakePumpThreads)) {}

grpc::ServerUnaryReactor* JamService::CreateJam(grpc::CallbackServerContext* context,
                                                const jam::v1::CreateJamRequest* request,
                                                jam::v1::CreateJamResponse* response) {
  absl::StatusOr<CreatedJam> created = jams_->create_jam(request->tempo_bpm());
  if (created.ok()) {
    response->set_jam_id(created->jam_id);
    response->set_host_token(created->host_token);
    response->set_player_token(created->player_token);
    response->set_listener_token(created->listener_token);
  }
  return finish(context, created.status());
}

grpc::ServerUnaryReactor* JamService::JoinJam(grpc::CallbackServerContext* context,
                                              const jam::v1::JoinJamRequest* request,
                                              jam::v1::JoinJamResponse* response) {
  absl::StatusOr<Joined> joined = jams_->join(request->join_token(), request->display_name());
  if (joined.ok()) {
    response->set_jam_id(joined->jam_id);
    response->set_participant_id(joined->participant.participant_id);
    response->set_role(to_proto(joined->participant.role));
    response->set_participant_token(joined->participant_token);
    to_proto(joined->state, response->mutable_state());
  }
  return finish(context, joined.status());
}

grpc::ServerUnaryReactor* JamService::Steer(grpc::CallbackServerContext* context,
                                            const jam::v1::SteerRequest* request,
                                            jam::v1::SteerResponse* response) {
  absl::StatusOr<Caller> caller = jams_->authenticate(request->participant_token());
  if (!caller.ok()) return finish(context, caller.status());
  absl::StatusOr<std::vector<std::string>> leaves =
      expand_paths(mask_paths(request->update_mask()));
  if (!leaves.ok()) return finish(context, leaves.status());
  JamState values;
  if (absl::Status st = from_proto(request->state(), *leaves, &values); !st.ok()) {
    return finish(context, st);
  }
  absl::StatusOr<SteerResult> result =
      caller->jam->steer(caller->participant.participant_id, values, *leaves);
  if (result.ok()) {
    response->set_sequence(result->sequence);
    to_proto(result->state, response->mutable_state());
  }
  return finish(context, result.status());
}

grpc::ServerUnaryReactor* JamService::LockFields(grpc::CallbackServerContext* context,
                                                 const jam::v1::LockFieldsRequest* request,
                                                 jam::v1::LockFieldsResponse* response) {
  absl::StatusOr<Caller> caller = jams_->authenticate(request->participant_token());
  if (!caller.ok()) return finish(context, caller.status());
  absl::StatusOr<std::vector<std::string>> locked = caller->jam->set_locks(
      caller->participant.participant_id, mask_paths(request->paths()), request->locked());
  if (locked.ok()) {
    for (const std::string& p : *locked) response->add_locked_paths(p);
  }
  return finish(context, locked.status());
}

grpc::ServerWriteReactor<jam::v1::JamEvent>* JamService::WatchJam(
    grpc::CallbackServerContext* /*context*/, const jam::v1::WatchJamRequest* request) {
  absl::StatusOr<Caller> caller = jams_->authenticate(request->participant_token());
  if (!caller.ok()) return new FinishedWriter<jam::v1::JamEvent>(caller.status());
  using Reactor = ListenReactor<EventQueue, jam::v1::JamEvent>;
  std::shared_ptr<JamSession> jam = caller->jam;
  const std::string id = caller->participant.participant_id;
  Reactor::Hooks hooks;
  hooks.convert = &to_proto;
  hooks.release = [jam](const std::shared_ptr<EventQueue>& q) { jam->unwatch(q); };
  hooks.cancelled_message = "the watch was cancelled";
  return Reactor::start(
      [&jam, &id](std::function<void()> on_ready) { return jam->watch(id, std::move(on_ready)); },
      std::move(hooks), pump_);
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* JamService::ListenAudio(
    grpc::CallbackServerContext* /*context*/, const grpc::ByteBuffer* request_bytes) {
  using Reactor = ListenReactor<TapQueue<SharedOpusPacket>, grpc::ByteBuffer>;
  jam::v1::ListenAudioRequest request;
  grpc::ByteBuffer copy(*request_bytes);  // shares the slices; parsing consumes the buffer
  if (!grpc::SerializationTraits<jam::v1::ListenAudioRequest>::Deserialize(&copy, &request).ok()) {
    return new FinishedWriter<grpc::ByteBuffer>(
        absl::InvalidArgumentError("the request is not a jam.v1.ListenAudioRequest"));
  }
  absl::StatusOr<Caller> caller = jams_->authenticate(request.participant_token());
  if (!caller.ok()) return new FinishedWriter<grpc::ByteBuffer>(caller.status());
  if (media_ == nullptr) return new FinishedWriter<grpc::ByteBuffer>(no_media());
  // Any role may listen.
  const std::string jam_id = caller->jam->jam_id();
  Reactor::Hooks hooks;
  hooks.convert = &to_wire;
  hooks.still_allowed = still_in(*caller);
  return Reactor::start(
      [this, &jam_id](std::function<void()> on_ready) {
        return media_->subscribe_audio(jam_id, kListenAudioQueuePackets, std::move(on_ready));
      },
      std::move(hooks), pump_);
}

grpc::ServerWriteReactor<jam::v1::NoteEvent>* JamService::ListenNotes(
    grpc::CallbackServerContext* /*context*/, const jam::v1::ListenNotesRequest* request) {
  using Reactor = ListenReactor<TapQueue<TappedNote>, jam::v1::NoteEvent>;
  absl::StatusOr<Caller> caller = jams_->authenticate(request->participant_token());
  if (!caller.ok()) return new FinishedWriter<jam::v1::NoteEvent>(caller.status());
  if (media_ == nullptr) return new FinishedWriter<jam::v1::NoteEvent>(no_media());
  const std::string jam_id = caller->jam->jam_id();
  Reactor::Hooks hooks;
  hooks.convert = &to_proto;
  hooks.still_allowed = still_in(*caller);
  return Reactor::start(
      [this, &jam_id](std::function<void()> on_ready) {
        return media_->subscribe_notes(jam_id, kListenNotesQueueNotes, std::move(on_ready));
      },
      std::move(hooks), pump_);
}

grpc::ServerUnaryReactor* JamService::RemoveParticipant(
    grpc::CallbackServerContext* context, const jam::v1::RemoveParticipantRequest* request,
    jam::v1::RemoveParticipantResponse* /*response*/) {
  return finish(context, jams_->remove(request->participant_token(), request->participant_id()));
}

grpc::ServerUnaryReactor* JamService::LeaveJam(grpc::CallbackServerContext* context,
                                               const jam::v1::LeaveJamRequest* request,
                                               jam::v1::LeaveJamResponse* /*response*/) {
  return finish(context, jams_->leave(request->participant_token()));
}

grpc::ServerUnaryReactor* JamService::EndJam(grpc::CallbackServerContext* context,
                                             const jam::v1::EndJamRequest* request,
                                             jam::v1::EndJamResponse* /*response*/) {
  return finish(context, jams_->end(request->participant_token()));
}

grpc::ServerUnaryReactor* JamService::GetStatus(grpc::CallbackServerContext* context,
                                                const jam::v1::GetStatusRequest* /*request*/,
                                                jam::v1::GetStatusResponse* response) {
  const RegistryCounts counts = jams_->counts();
  response->set_version(JAMD_VERSION);
  response->set_backend(backend_);
  response->set_n_jams(static_cast<int32_t>(counts.n_jams));
  response->set_n_participants(static_cast<int32_t>(counts.n_participants));
  response->set_n_watchers(static_cast<int32_t>(counts.n_watchers));
  if (media_ != nullptr) {
    const MediaHealth health = media_->health();
    response->set_n_playing_jams(static_cast<int32_t>(health.playing_jams));
    response->set_audio_seconds(health.audio_seconds);
    response->set_xruns(health.xruns);
    response->set_late_events(health.late_events);
    response->set_audio_packets(health.packets);
    response->set_mix_frames_lost(health.mix_frames_lost);
    response->set_late_notes_dropped(health.late_notes_dropped);
    response->set_unplanned_seconds(health.unplanned_seconds);
  }
  return finish(context, absl::OkStatus());
}

}  // namespace jamd::api
