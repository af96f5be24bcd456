// WebServer: jamd's HTTP and WebSocket face for the web client (docs/web.md). Serves the built
// client's static files and one WebSocket per page at /ws that carries jam.v1 messages inside
// the jam.v1.web envelope (protos/jam/v1/web.proto): join, steer, lock, leave, the jam's events,
// its Opus audio and its notes.
//
//   jamd::web::WebServerOptions options;
//   options.listen_address = "127.0.0.1:0";          // port 0: the kernel picks a free one
//   options.static_dir = "build/clients/web/dist";   // empty: no page, WebSocket only
//   auto server = jamd::web::WebServer::start(options, &registry, media /* may be null */);
//   if (!server.ok()) return server.status();
//   std::printf("http://127.0.0.1:%d/\n", (*server)->port());
//   ...
//   (*server)->shutdown();                            // closes every connection, joins threads
//
// Security: same-origin check on the WebSocket upgrade, a Content-Security-Policy on every page,
// no path outside static_dir, a size limit per message and a rate limit per connection; tokens
// are never logged.
//
// Thread safety: start, port and shutdown may be called from any thread. The server runs on its
// own Asio threads; its handlers only translate and post to the session layer, never block.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace jamd {
class SessionRegistry;
class JamMedia;
}  // namespace jamd

namespace jamd::web {

struct WebServerOptions {
  std::string listen_address = "127.0.0.1:8080";  // HOST:PORT; port 0: pick a free one
  std::string static_dir;                         // the built client (index.html); may be empty
  size_t max_message_bytes = 65536;               // largest WebSocket message a client may send
  double client_messages_per_s = 50;              // steady rate of client messages (token bucket)
  double client_messages_burst = 100;             // messages allowed at once before the rate
  size_t max_connections = 512;                   // further upgrades are refused with 503
};

class WebServer {
 public:
  // Binds, listens and starts the server threads. jams must outlive the server; media may be
  // null (no audio or notes: those requests fail with UNAVAILABLE). thread: any.
  static absl::StatusOr<std::unique_ptr<WebServer>> start(const WebServerOptions& options,
                                                          SessionRegistry* jams, JamMedia* media);
  // The bound TCP port. thread: any.
  int port() const;
  // Stops accepting, closes every connection and joins the threads. Idempotent. thread: any
  // but the server's own.
  void shutdown();
  virtual ~WebServer();

  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

 protected:
  WebServer() = default;
};

}  // namespace jamd::web
