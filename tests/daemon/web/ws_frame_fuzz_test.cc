// Fuzzing the web server's WebSocket at the socket (TARGETS.md: "fuzzing ... WebSocket frames:
// no crash, no sanitizer report"). Hundreds of connections upgrade like a page and then send
// seeded random frames: broken headers, reserved bits and opcodes, unmasked frames, lengths that
// lie, oversized control frames, stray continuations, mutated jam.v1.web envelopes, raw garbage,
// and half-finished handshakes. Meanwhile a well-behaved page (a Beast client) stays joined and
// must keep getting answers; at the end the server must shut down cleanly. Under the sanitize
// stage (ASan, UBSan, LSan) any memory error or leak fails it.
//
// JAMD_FUZZ_CONNECTIONS and JAMD_FUZZ_SEED run it longer or elsewhere (a local soak).
#include <gtest/gtest.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "daemon/session/session_registry.h"
#include "daemon/web/web_server.h"
#include "jam/v1/web.pb.h"

namespace jamd::web {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && v[0] != '\0' ? std::atoi(v) : fallback;
}

// The page that behaves: joins once, then steers on request and reads the answer.
class Page {
 public:
  Page(int port, const std::string& join_token) : ws_(io_) {
    tcp::resolver resolver(io_);
    net::connect(ws_.next_layer(), resolver.resolve("127.0.0.1", std::to_string(port)));
    const std::string origin = "http://127.0.0.1:" + std::to_string(port);
    ws_.set_option(
        beast::websocket::stream_base::decorator([origin](beast::websocket::request_type& req) {
          req.set(beast::http::field::origin, origin);
        }));
    ws_.handshake("127.0.0.1:" + std::to_string(port), "/ws");
    ws_.binary(true);
    jam::v1::WebClientMessage join;
    join.set_request_id(1);
    join.mutable_join()->set_join_token(join_token);
    join.mutable_join()->set_display_name("steady page");
    EXPECT_TRUE(call(join).has_joined());
  }

  // Steers the tempo; true when the server answers `steered`, or says the page steers too fast
  // (the session's rate limit: the page steers every few ms here), which is an answer too.
  bool steer(double tempo_bpm) {
    jam::v1::WebClientMessage steer;
    steer.set_request_id(++request_id_);
    steer.mutable_steer()->mutable_state()->set_tempo_bpm(tempo_bpm);
    steer.mutable_steer()->mutable_update_mask()->add_paths("tempo_bpm");
    const jam::v1::WebServerMessage reply = call(steer);
    if (reply.has_error()) last_error_ = reply.error().message();
    constexpr int kResourceExhausted = 8;
    return reply.has_steered() || (reply.has_error() && reply.error().code() == kResourceExhausted);
  }
  const std::string& last_error() const { return last_error_; }

 private:
  jam::v1::WebServerMessage call(const jam::v1::WebClientMessage& request) {
    ws_.write(net::buffer(request.SerializeAsString()));
    // Skip stream items (events of the jam) until the reply to this request.
    while (true) {
      beast::flat_buffer buffer;
      ws_.read(buffer);
      jam::v1::WebServerMessage reply;
      EXPECT_TRUE(reply.ParseFromArray(buffer.data().data(), static_cast<int>(buffer.size())));
      if (reply.request_id() == request.request_id()) return reply;
    }
  }

  net::io_context io_;
  beast::websocket::stream<tcp::socket> ws_;
  uint32_t request_id_ = 1;
  std::string last_error_;
};

// Builds the bytes one fuzzing connection sends.
class FrameMaker {
 public:
  FrameMaker(uint64_t seed, std::string valid_join)
      : rng_(seed), valid_join_(std::move(valid_join)) {}

  std::string handshake(int port) {
    std::string h = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    "Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:" +
                    std::to_string(port) + "\r\n\r\n";
    switch (pick(8)) {
      case 0:
        return h.substr(0, pick(h.size()));  // cut short
      case 1:
        return mutate(h, 1 + pick(4));  // a header garbled
      default:
        return h;
    }
  }

  // One frame, or something that claims to be one.
  std::string frame() {
    switch (pick(10)) {
      case 0:
        return random_bytes(pick(64));
      case 1:
        return encode(0x2, mutate(valid_join_, 1 + pick(6)), true, true);
      case 2:
        return encode(0x2, random_bytes(pick(300)), true, true);
      case 3:
        return encode(0x1, random_bytes(pick(64)), true, true);  // text: the server is binary
      case 4:
        return encode(static_cast<uint8_t>(pick(16)), random_bytes(pick(200)), pick(2) == 0,
                      pick(4) != 0, /*rsv=*/static_cast<uint8_t>(pick(8)));
      case 5:
        return encode(0x2, valid_join_, true, /*masked=*/false);  // clients must mask
      case 6:
        return encode(0x9, random_bytes(126 + pick(200)), true, true);  // ping > 125 bytes
      case 7:
        return encode(0x0, random_bytes(pick(100)), pick(2) == 0, true);  // stray continuation
      case 8:
        return lying_length();
      default:
        return encode(0x8, random_bytes(pick(40)), true, true);  // close with any reason
    }
  }

  size_t pick(size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
  }

 private:
  std::string random_bytes(size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(pick(256));
    return s;
  }

  std::string mutate(std::string s, size_t n_flips) {
    for (size_t i = 0; i < n_flips && !s.empty(); ++i)
      s[pick(s.size())] = static_cast<char>(pick(256));
    return s;
  }

  // A header whose 16- or 64-bit length promises far more than follows (up to 2^63).
  std::string lying_length() {
    std::string f;
    f.push_back(static_cast<char>(0x82));
    if (pick(2) == 0) {
      f.push_back(static_cast<char>(0x80 | 126));
      f.push_back(static_cast<char>(0xFF));
      f.push_back(static_cast<char>(0xFF));
    } else {
      f.push_back(static_cast<char>(0x80 | 127));
      const uint64_t n = (uint64_t{1} << (16 + pick(47)));
      for (int shift = 56; shift >= 0; shift -= 8) f.push_back(static_cast<char>(n >> shift));
    }
    f += random_bytes(4 + pick(32));
    return f;
  }

  std::string encode(uint8_t opcode, const std::string& payload, bool fin, bool masked,
                     uint8_t rsv = 0) {
    std::string f;
    f.push_back(static_cast<char>((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0xF)));
    const uint8_t mask_bit = masked ? 0x80 : 0;
    if (payload.size() < 126) {
      f.push_back(static_cast<char>(mask_bit | payload.size()));
    } else if (payload.size() < 65536) {
      f.push_back(static_cast<char>(mask_bit | 126));
      f.push_back(static_cast<char>(payload.size() >> 8));
      f.push_back(static_cast<char>(payload.size()));
    } else {
      f.push_back(static_cast<char>(mask_bit | 127));
      for (int shift = 56; shift >= 0; shift -= 8)
        f.push_back(static_cast<char>(payload.size() >> shift));
    }
    std::array<uint8_t, 4> key{};
    for (uint8_t& k : key) k = static_cast<uint8_t>(pick(256));
    if (masked) f.append(reinterpret_cast<const char*>(key.data()), key.size());
    for (size_t i = 0; i < payload.size(); ++i) {
      f.push_back(masked ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i]);
    }
    return f;
  }

  std::mt19937_64 rng_;
  std::string valid_join_;
};

// One fuzzing connection: handshake, a few frames, then gone (abruptly or after a short read).
void fuzz_one_connection(int port, FrameMaker& maker) {
  net::io_context io;
  tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)),
                 ec);
  ASSERT_FALSE(ec) << "the server stopped accepting connections: " << ec.message();
  net::write(socket, net::buffer(maker.handshake(port)), ec);
  const size_t n_frames = maker.pick(8);
  for (size_t i = 0; i < n_frames && !ec; ++i) net::write(socket, net::buffer(maker.frame()), ec);
  if (maker.pick(2) == 0) {
    // Read whatever the server says (an upgrade, an error, a close) without waiting long.
    socket.non_blocking(true);
    std::array<char, 4096> scratch{};
    socket.read_some(net::buffer(scratch), ec);
  }
  socket.close(ec);
}

TEST(WebSocketFrameFuzz, RandomFramesNeitherCrashNorDisturbAWellBehavedPage) {
  SessionRegistry jams;
  absl::StatusOr<CreatedJam> jam = jams.create_jam(0);
  ASSERT_TRUE(jam.ok()) << jam.status().message();
  WebServerOptions options;
  options.listen_address = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<WebServer>> server = WebServer::start(options, &jams, nullptr);
  ASSERT_TRUE(server.ok()) << server.status().message();
  const int port = (*server)->port();

  Page page(port, jam->player_token);
  jam::v1::WebClientMessage valid;
  valid.mutable_join()->set_join_token(jam->player_token);
  valid.mutable_join()->set_display_name("fuzz");
  const uint64_t seed = static_cast<uint64_t>(env_int("JAMD_FUZZ_SEED", 20261122));
  const int n_connections = env_int("JAMD_FUZZ_CONNECTIONS", 2000);
  FrameMaker maker(seed, valid.SerializeAsString());

  for (int i = 0; i < n_connections; ++i) {
    fuzz_one_connection(port, maker);
    if (::testing::Test::HasFatalFailure()) return;
    if (i % 50 == 49) {
      ASSERT_TRUE(page.steer(90 + i % 40)) << "the page lost its answers after connection " << i
                                           << " (seed " << seed << "): " << page.last_error();
    }
  }
  EXPECT_TRUE(page.steer(120));
  (*server)->shutdown();  // joins every connection's work: a stuck one would hang here
}

}  // namespace
}  // namespace jamd::web
