// WebServer: placeholder until the Beast server lands; start() reports UNIMPLEMENTED.
#include "daemon/web/web_server.h"

#include "absl/status/status.h"

namespace jamd::web {

absl::StatusOr<std::unique_ptr<WebServer>> WebServer::start(const WebServerOptions&,
                                                            SessionRegistry*, JamMedia*) {
  return absl::UnimplementedError("the web server is not built yet");
}

int WebServer::port() const { return 0; }
void WebServer::shutdown() {}
WebServer::~WebServer() = default;

}  // namespace jamd::web
