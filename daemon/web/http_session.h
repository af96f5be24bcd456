// HttpSession: one HTTP connection to the web server: GET and HEAD of the built client's static
// files (with the Content-Security-Policy and friends), and the upgrade of GET /ws to the
// WebSocket after a same-origin check. Anything else: 404, 405 or 403 with a short text body.
//
//   start_http_session(std::move(socket), context);  // from the acceptor
//
// Thread safety: a session's work runs on its socket's strand.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string_view>

#include "daemon/web/web_context.h"

namespace jamd::web {

// Serves requests on the socket until it closes or upgrades. thread: the socket's strand.
void start_http_session(boost::asio::ip::tcp::socket socket, std::shared_ptr<WebContext> context);

// Whether a WebSocket upgrade comes from a page of this server: Origin must be
// "http://" + Host or "https://" + Host (Host as the browser sent it, port included). A missing
// Origin is refused too: browsers always send it, and other programs have gRPC.
bool same_origin(std::string_view origin, std::string_view host);

}  // namespace jamd::web
