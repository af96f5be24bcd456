// WebServer: the acceptor and the Asio thread of the web client's server; connections are
// HttpSession (static files, upgrade) and WsSession (the jam.v1 WebSocket).
#include "daemon/web/web_server.h"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "daemon/web/http_session.h"
#include "daemon/web/static_files.h"
#include "daemon/web/web_context.h"

namespace jamd::web {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// One thread serves every connection: each handler only translates and posts, so the thread is
// idle almost always; the listener count target (TARGETS.md) is met by the queues, not threads.
constexpr int kServerThreads = 1;

absl::StatusOr<tcp::endpoint> parse_listen_address(const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("web listen address '", address, "' is not HOST:PORT (e.g. 127.0.0.1:8080)"));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  net::ip::address ip = net::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("web listen host '", host, "' is not an IP address (or localhost)"));
  }
  return tcp::endpoint(ip, static_cast<unsigned short>(port));
}

class WebServerImpl final : public WebServer {
 public:
  explicit WebServerImpl(std::shared_ptr<WebContext> context)
      : context_(std::move(context)), acceptor_(net::make_strand(ioc_)) {}
  ~WebServerImpl() override { shutdown(); }

  absl::Status listen(const tcp::endpoint& endpoint) {
    boost::system::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(absl::StrCat("cannot listen for the web client on ",
                                                 context_->options.listen_address, ": ",
                                                 ec.message()));
    }
    port_ = acceptor_.local_endpoint().port();
    accept_next();
    for (int i = 0; i < kServerThreads; ++i) threads_.emplace_back([this] { ioc_.run(); });
    return absl::OkStatus();
  }

  int port_number() const { return port_; }

  void stop() {
    if (stopped_.exchange(true)) return;
    context_->gate.close();  // no thread posts into ioc_ from here on
    ioc_.stop();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  }

 private:
  void accept_next() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           [this](boost::system::error_code ec, tcp::socket socket) {
                             if (!ec) start_http_session(std::move(socket), context_);
                             if (acceptor_.is_open()) accept_next();
                           });
  }

  const std::shared_ptr<WebContext> context_;  // outlives the io_context's leftover handlers
  net::io_context ioc_{kServerThreads};
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  int port_ = 0;
  std::atomic<bool> stopped_{false};
};

}  // namespace

absl::StatusOr<std::unique_ptr<WebServer>> WebServer::start(const WebServerOptions& options,
                                                            SessionRegistry* jams,
                                                            JamMedia* media) {
  auto context = std::make_shared<WebContext>();
  context->options = options;
  context->jams = jams;
  context->media = media;
  if (!options.static_dir.empty()) {
    absl::StatusOr<std::filesystem::path> root = canonical_root(options.static_dir);
    if (!root.ok()) return root.status();
    context->static_root = *root;
  }
  absl::StatusOr<tcp::endpoint> endpoint = parse_listen_address(options.listen_address);
  if (!endpoint.ok()) return endpoint.status();
  auto server = std::make_unique<WebServerImpl>(std::move(context));
  if (absl::Status st = server->listen(*endpoint); !st.ok()) return st;
  return std::unique_ptr<WebServer>(std::move(server));
}

int WebServer::port() const { return static_cast<const WebServerImpl*>(this)->port_number(); }
void WebServer::shutdown() { static_cast<WebServerImpl*>(this)->stop(); }
WebServer::~WebServer() = default;

}  // namespace jamd::web
