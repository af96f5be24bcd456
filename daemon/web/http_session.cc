// HttpSession: static files and the WebSocket upgrade. Request targets are not logged (nothing
// here logs per request): a careless link could carry a token in its query string.
#include "daemon/web/http_session.h"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "daemon/web/static_files.h"
#include "daemon/web/ws_session.h"

namespace jamd::web {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// A page's requests are a GET line and a few headers; anything longer is not a page's.
constexpr uint32_t kMaxHeaderBytes = 8 * 1024;
constexpr uint64_t kMaxBodyBytes = 1024;
// An idle keep-alive connection is closed after this long.
constexpr std::chrono::seconds kHttpIdleTimeout{30};
constexpr std::string_view kWebSocketPath = "/ws";

// Beast 1.74 has its own string_view; these bridge it to std's.
std::string_view std_view(beast::string_view s) { return {s.data(), s.size()}; }
beast::string_view beast_view(std::string_view s) { return {s.data(), s.size()}; }

template <typename Body>
void set_security_headers(http::response<Body>& res) {
  res.set(http::field::server, "jamd");
  res.set("Content-Security-Policy", beast_view(kContentSecurityPolicy));
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set("Cross-Origin-Opener-Policy", "same-origin");
  res.set("X-Frame-Options", "DENY");
  // The page is small and rebuilt often; revalidating costs little on loopback and LAN.
  res.set(http::field::cache_control, "no-cache");
}

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, std::shared_ptr<WebContext> context)
      : stream_(std::move(socket)), context_(std::move(context)) {}

  void read_next() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(kMaxBodyBytes);
    stream_.expires_after(kHttpIdleTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
  }

 private:
  void on_read(beast::error_code ec, size_t /*n_bytes*/) {
    if (ec == http::error::end_of_stream) {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      return;
    }
    if (ec) return;  // timeout, reset, or a request over the limits: drop the connection
    http::request<http::string_body> req = parser_->release();
    if (beast::websocket::is_upgrade(req)) return upgrade(std::move(req));
    respond(req);
  }

  void upgrade(http::request<http::string_body> req) {
    if (std_view(req.target()) != kWebSocketPath) {
      return send_text(req, http::status::not_found, "no WebSocket here: use /ws\n");
    }
    if (!same_origin(std_view(req[http::field::origin]), std_view(req[http::field::host]))) {
      return send_text(req, http::status::forbidden,
                       "cross-origin WebSocket refused: open the page from this server\n");
    }
    if (context_->n_websockets.load() >= context_->options.max_connections) {
      return send_text(req, http::status::service_unavailable, "too many connections\n");
    }
    stream_.expires_never();  // the WebSocket keeps its own timeouts
    start_websocket_session(stream_.release_socket(), std::move(req), context_);
  }

  void respond(const http::request<http::string_body>& req) {
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      return send_text(req, http::status::method_not_allowed, "only GET and HEAD\n");
    }
    std::optional<std::filesystem::path> file;
    if (context_->static_root)
      file = resolve_static_path(*context_->static_root, std_view(req.target()));
    beast::error_code ec;
    http::file_body::value_type body;
    if (file) body.open(file->c_str(), beast::file_mode::scan, ec);
    if (!file || ec) return send_text(req, http::status::not_found, "not found\n");
    const uint64_t size = body.size();
    if (req.method() == http::verb::head) {
      http::response<http::empty_body> res{http::status::ok, req.version()};
      set_security_headers(res);
      res.set(http::field::content_type, beast_view(mime_type(*file)));
      res.content_length(size);
      res.keep_alive(req.keep_alive());
      return send(std::move(res));
    }
    http::response<http::file_body> res{std::piecewise_construct, std::make_tuple(std::move(body)),
                                        std::make_tuple(http::status::ok, req.version())};
    set_security_headers(res);
    res.set(http::field::content_type, beast_view(mime_type(*file)));
    res.content_length(size);
    res.keep_alive(req.keep_alive());
    send(std::move(res));
  }

  void send_text(const http::request<http::string_body>& req, http::status status,
                 std::string_view text) {
    http::response<http::string_body> res{status, req.version()};
    set_security_headers(res);
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.keep_alive(req.keep_alive());
    if (req.method() != http::verb::head) res.body() = std::string(text);
    res.prepare_payload();
    send(std::move(res));
  }

  template <typename Body>
  void send(http::response<Body>&& res) {
    auto message = std::make_shared<http::response<Body>>(std::move(res));
    http::async_write(stream_, *message,
                      [self = shared_from_this(), message](beast::error_code ec, size_t) {
                        self->on_write(ec, message->need_eof());
                      });
  }

  void on_write(beast::error_code ec, bool close) {
    if (ec) return;
    if (close) {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      return;
    }
    read_next();
  }

  beast::tcp_stream stream_;
  const std::shared_ptr<WebContext> context_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

void start_http_session(tcp::socket socket, std::shared_ptr<WebContext> context) {
  std::make_shared<HttpSession>(std::move(socket), std::move(context))->read_next();
}

bool same_origin(std::string_view origin, std::string_view host) {
  if (origin.empty() || host.empty()) return false;
  const std::string host_text(host);
  const absl::string_view given(origin.data(), origin.size());
  return absl::EqualsIgnoreCase(given, "http://" + host_text) ||
         absl::EqualsIgnoreCase(given, "https://" + host_text);
}

}  // namespace jamd::web
