// Status translation for the WebSocket envelope.
#include "daemon/web/web_messages.h"

#include <string>

namespace jamd::web {

void to_proto(const absl::Status& in, jam::v1::WebError* out) {
  out->set_code(static_cast<int32_t>(in.code()));
  out->set_message(std::string(in.message()));
}

}  // namespace jamd::web
