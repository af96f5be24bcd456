// JamService: the jam.v1 Jam gRPC service on the callback API. Handlers only translate between
// protobuf and the session layer and post to it; they never block and never touch the engine.
//
//   jamd::SessionRegistry jams(limits, &hosted);            // hosted: a jamd::HostedJams
//   jamd::api::JamService service(&jams, "cpu: built without CUDA", &hosted);
//   builder.RegisterService(&service);
//
// ListenAudio is a raw method: every listener of a jam is sent the same pre-serialized
// AudioPacket bytes (media_convert.h), so the request arrives as bytes too.
//
// Thread safety: gRPC calls the handlers on its own threads, concurrently; the service keeps
// no state of its own besides pointers fixed at construction and the streams' WakePump.
#pragma once

#include <grpcpp/support/byte_buffer.h>

#include <memory>
#include <string>

#include "daemon/api/wake_pump.h"
#include "daemon/session/session_registry.h"
#include "daemon/stream/jam_media.h"
#include "jam/v1/jam.grpc.pb.h"

namespace jamd::api {

class JamService final
    : public jam::v1::Jam::WithRawCallbackMethod_ListenAudio<jam::v1::Jam::CallbackService> {
 public:
  // jams and media outlive the service. backend: what GetStatus reports as the model backend.
  // media may be null: ListenAudio and ListenNotes then fail with UNAVAILABLE.
  JamService(SessionRegistry* jams, std::string backend, JamMedia* media = nullptr);

  grpc::ServerUnaryReactor* CreateJam(grpc::CallbackServerContext* context,
                                      const jam::v1::CreateJamRequest* request,
                                      jam::v1::CreateJamResponse* response) override;
  grpc::ServerUnaryReactor* JoinJam(grpc::CallbackServerContext* context,
                                    const jam::v1::JoinJamRequest* request,
                                    jam::v1::JoinJamResponse* response) override;
  grpc::ServerUnaryReactor* Steer(grpc::CallbackServerContext* context,
                                  const jam::v1::SteerRequest* request,
                                  jam::v1::SteerResponse* response) override;
  grpc::ServerUnaryReactor* LockFields(grpc::CallbackServerContext* context,
                                       const jam::v1::LockFieldsRequest* request,
                                       jam::v1::LockFieldsResponse* response) override;
  grpc::ServerWriteReactor<jam::v1::JamEvent>* WatchJam(
      grpc::CallbackServerContext* context, const jam::v1::WatchJamRequest* request) override;
  // request: a serialized ListenAudioRequest; writes serialized AudioPackets.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* ListenAudio(grpc::CallbackServerContext* context,
                                                          const grpc::ByteBuffer* request) override;
  grpc::ServerWriteReactor<jam::v1::NoteEvent>* ListenNotes(
      grpc::CallbackServerContext* context, const jam::v1::ListenNotesRequest* request) override;
  grpc::ServerUnaryReactor* RemoveParticipant(
      grpc::CallbackServerContext* context, const jam::v1::RemoveParticipantRequest* request,
      jam::v1::RemoveParticipantResponse* response) override;
  grpc::ServerUnaryReactor* LeaveJam(grpc::CallbackServerContext* context,
                                     const jam::v1::LeaveJamRequest* request,
                                     jam::v1::LeaveJamResponse* response) override;
  grpc::ServerUnaryReactor* EndJam(grpc::CallbackServerContext* context,
                                   const jam::v1::EndJamRequest* request,
                                   jam::v1::EndJamResponse* response) override;
  grpc::ServerUnaryReactor* GetStatus(grpc::CallbackServerContext* context,
                                      const jam::v1::GetStatusRequest* request,
                                      jam::v1::GetStatusResponse* response) override;

 private:
  SessionRegistry* const jams_;
  const std::string backend_;
  JamMedia* const media_;
  // Starts the streams' writes that wait for new items, off the threads that push them.
  const std::shared_ptr<WakePump> pump_;
};

}  // namespace jamd::api
