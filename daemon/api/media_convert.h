// Translation of what listeners receive (daemon/stream/jam_media.h) into jam.v1 messages. Apart
// from convert.h so that the request translation (and its fuzzer) needs no media headers.
//
//   jam::v1::AudioPacket out;  jamd::api::to_proto(packet, &out);
//   grpc::ByteBuffer wire;  jamd::api::to_wire(shared_packet, &wire);  // serialized once per jam
//
// Thread safety: free functions; call from any thread.
#pragma once

#include <grpcpp/support/byte_buffer.h>

#include <string>

#include "daemon/stream/jam_media.h"
#include "jam/v1/jam.pb.h"

namespace jamd::api {

void to_proto(const OpusPacket& in, jam::v1::AudioPacket* out);
void to_proto(const TappedNote& in, jam::v1::NoteEvent* out);
// The packet as a serialized jam.v1 AudioPacket.
std::string audio_packet_bytes(const OpusPacket& in);
// The published packet as a ready jam.v1 AudioPacket message for a raw (pre-serialized) gRPC
// write: serialized on the first listener's call, then shared by reference, not copied.
void to_wire(const SharedOpusPacket& in, grpc::ByteBuffer* out);

}  // namespace jamd::api
