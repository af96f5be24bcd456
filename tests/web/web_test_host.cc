// web_test_host: a jamd web server on loopback for the browser tests, before and beside
// `jamd serve --http`: a SessionRegistry with one jam, the WebServer on a free port serving the
// built client, and no media (no audio, no notes). Prints one JSON line to stdout
// ({"port":..,"jam_id":..,"host_token":..,"player_token":..,"listener_token":..}) and runs until
// its stdin closes, so it dies with the test that started it.
//
//   web_test_host STATIC_DIR
#include <cstdio>
#include <iostream>
#include <string>

#include "daemon/session/session_registry.h"
#include "daemon/web/web_server.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: web_test_host STATIC_DIR\n");
    return 2;
  }
  jamd::SessionRegistry jams;
  jamd::web::WebServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.static_dir = argv[1];
  auto server = jamd::web::WebServer::start(options, &jams, /*media=*/nullptr);
  if (!server.ok()) {
    std::fprintf(stderr, "web_test_host: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<jamd::CreatedJam> jam = jams.create_jam(/*tempo_bpm=*/0);
  if (!jam.ok()) {
    std::fprintf(stderr, "web_test_host: %s\n", std::string(jam.status().message()).c_str());
    return 1;
  }
  std::printf(
      "{\"port\":%d,\"jam_id\":\"%s\",\"host_token\":\"%s\",\"player_token\":\"%s\","
      "\"listener_token\":\"%s\"}\n",
      (*server)->port(), jam->jam_id.c_str(), jam->host_token.c_str(), jam->player_token.c_str(),
      jam->listener_token.c_str());
  std::fflush(stdout);
  std::string ignored;
  while (std::getline(std::cin, ignored)) {
  }
  (*server)->shutdown();
  return 0;
}
