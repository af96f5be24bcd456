// JamService handlers: authenticate, translate, post to the session layer, translate back.
#include "daemon/api/jam_service.h"

#include <utility>

#include "daemon/api/convert.h"
#include "daemon/api/watch_reactor.h"
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

absl::Status not_yet(const char* what) {
  return absl::UnimplementedError(
      std::string(what) + " streaming is not in this jamd yet: the streamer arrives in a later "
      "version; WatchJam streams the steering state today");
}

}  // namespace

JamService::JamService(SessionRegistry* jams, std::string backend)
    : jams_(jams), backend_(std::move(backend)) {}

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
  absl::StatusOr<std::vector<std::string>> leaves = expand_paths(mask_paths(request->update_mask()));
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
  return WatchReactor::start(caller->jam, caller->participant.participant_id);
}

grpc::ServerWriteReactor<jam::v1::AudioPacket>* JamService::ListenAudio(
    grpc::CallbackServerContext* /*context*/, const jam::v1::ListenAudioRequest* request) {
  absl::StatusOr<Caller> caller = jams_->authenticate(request->participant_token());
  return new FinishedWriter<jam::v1::AudioPacket>(caller.ok() ? not_yet("audio")
                                                              : caller.status());
}

grpc::ServerWriteReactor<jam::v1::NoteEvent>* JamService::ListenNotes(
    grpc::CallbackServerContext* /*context*/, const jam::v1::ListenNotesRequest* request) {
  absl::StatusOr<Caller> caller = jams_->authenticate(request->participant_token());
  return new FinishedWriter<jam::v1::NoteEvent>(caller.ok() ? not_yet("note") : caller.status());
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
  return finish(context, absl::OkStatus());
}

}  // namespace jamd::api
