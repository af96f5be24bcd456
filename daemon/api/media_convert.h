// Translation of what listeners receive (daemon/stream/jam_media.h) into jam.v1 messages. Apart
// from convert.h so that the request translation (and its fuzzer) needs no media headers.
//
//   jam::v1::AudioPacket out;  jamd::api::to_proto(packet, &out);
//
// Thread safety: free functions; call from any thread.
#pragma once

#include "daemon/stream/jam_media.h"
#include "jam/v1/jam.pb.h"

namespace jamd::api {

void to_proto(const OpusPacket& in, jam::v1::AudioPacket* out);
void to_proto(const TappedNote& in, jam::v1::NoteEvent* out);

}  // namespace jamd::api
