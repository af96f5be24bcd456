// Translation for the WebSocket: the media layer's Opus packets and notes into jam.v1
// AudioPacket / NoteEvent, and a failed absl::Status into the envelope's WebError. The steering
// types go through daemon/api/convert.h like gRPC's.
//
//   jam::v1::WebServerMessage out;
//   jamd::web::to_proto(packet, out.mutable_audio());
//
// Thread safety: free functions; call from any thread.
#pragma once

#include "absl/status/status.h"
#include "daemon/host/jam_host.h"
#include "daemon/stream/jam_media.h"
#include "jam/v1/web.pb.h"

namespace jamd::web {

void to_proto(const OpusPacket& in, jam::v1::AudioPacket* out);
void to_proto(const TappedNote& in, jam::v1::NoteEvent* out);
void to_proto(const absl::Status& in, jam::v1::WebError* out);

}  // namespace jamd::web
