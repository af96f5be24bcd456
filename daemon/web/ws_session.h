// WsSession: one web page's WebSocket (docs/web.md "Protocol"). It reads jam.v1.WebClientMessage
// envelopes, translates each into a call on the session layer or the media, and writes
// WebServerMessage replies and stream items (events first, then notes, then audio, so control
// never waits behind audio). The streams' own bounded drop-oldest queues are the only backlog: a
// slow page loses its own audio, never slows the jam. Closing the socket leaves the jam.
//
//   start_websocket_session(std::move(socket), std::move(upgrade_request), context);
//
// Thread safety: all of a session's work runs on its socket's strand; queues wake it through
// the context's WakeGate from any thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <memory>

#include "daemon/web/web_context.h"

namespace jamd::web {

// Accepts the upgrade (already checked for origin and path) and runs until the socket closes.
// The socket's executor must be a strand. thread: the socket's strand.
void start_websocket_session(boost::asio::ip::tcp::socket socket,
                             boost::beast::http::request<boost::beast::http::string_body> upgrade,
                             std::shared_ptr<WebContext> context);

}  // namespace jamd::web
