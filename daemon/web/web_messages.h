// Translation for the WebSocket envelope: a failed absl::Status into WebError (code and message,
// as gRPC would carry them). Everything else reuses daemon/api (convert.h for the steering
// types, media_convert.h for audio and notes), so the web and gRPC speak one schema.
//
//   jam::v1::WebServerMessage out;
//   jamd::web::to_proto(status, out.mutable_error());
//
// Thread safety: free functions; call from any thread.
#pragma once

#include "absl/status/status.h"
#include "jam/v1/web.pb.h"

namespace jamd::web {

void to_proto(const absl::Status& in, jam::v1::WebError* out);

}  // namespace jamd::web
