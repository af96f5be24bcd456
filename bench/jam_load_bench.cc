// jam_load_bench: jamd under load, in one process on loopback, wired as `jamd serve` wires it
// (one Conductor with the bundled model, a JamHost on the real-time virtual clock and an Opus
// streamer per jam, the session layer, the gRPC API). Three scenarios (TARGETS.md "Sound and
// streaming", issue #6):
//   steer   100 participants steering one jam: Steer round trip p50/p99
//   listen  256 listeners on one jam: Opus delivery latency (encode -> client), dropped packets
//   jams    32 jams at once, each with a listener and a player steering once a second
// and for each the jams' RT health (xruns, late events, mix frames lost).
// Usage: jam_load_bench [--seconds N] [--only steer|listen|jams] [--out FILE.tsv]
#include <grpcpp/create_channel.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "daemon/api/api_server.h"
#include "daemon/conductor/conductor.h"
#include "daemon/host/jam_host.h"
#include "daemon/stream/hosted_jams.h"
#include "jam/v1/jam.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using jamd::HostedJams;

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

// A jamd with music on 127.0.0.1, as jamd serve builds it.
struct Daemon {
  std::unique_ptr<jamd::Conductor> conductor;
  std::unique_ptr<HostedJams> hosted;
  std::unique_ptr<jamd::SessionRegistry> jams;
  std::unique_ptr<jamd::api::ApiServer> server;
  std::vector<std::shared_ptr<grpc::Channel>> channels;

  explicit Daemon(size_t n_channels) {
    jamd::ConductorOptions co{.model_path = JAMD_SOURCE_DIR "/models/band.jamd"};
    co.max_jams = 64;
    conductor = *jamd::Conductor::create(co);
    conductor->start();
    hosted = std::make_unique<HostedJams>([this](jamd::JamId id, const jamd::JamState& s) {
      return jamd::JamHost::start(id, s, *conductor, {});
    });
    jamd::SessionLimits limits;
    limits.max_participants_per_jam = 512;
    limits.max_watchers_per_jam = 512;
    jams = std::make_unique<jamd::SessionRegistry>(limits, hosted.get());
    jamd::api::ServerOptions so;
    so.listen_address = "127.0.0.1:0";
    server = *jamd::api::ApiServer::start(so, jams.get(), hosted.get());
    // Separate channels: gRPC allows 64 streams per connection (api_server.cc), and real
    // listeners come on their own connections.
    for (size_t i = 0; i < n_channels; ++i) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
      channels.push_back(grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", server->port()),
                                                   grpc::InsecureChannelCredentials(), args));
    }
  }
  ~Daemon() {
    server->shutdown(absl::Seconds(1));
    hosted->shutdown();
    conductor->stop();
  }
  std::unique_ptr<jam::v1::Jam::Stub> stub(size_t i) {
    return jam::v1::Jam::NewStub(channels[i % channels.size()]);
  }
  jam::v1::CreateJamResponse create() {
    grpc::ClientContext ctx;
    jam::v1::CreateJamRequest req;
    req.set_tempo_bpm(120);
    jam::v1::CreateJamResponse res;
    if (!stub(0)->CreateJam(&ctx, req, &res).ok()) std::abort();
    return res;
  }
  std::string join(const std::string& token, size_t channel) {
    grpc::ClientContext ctx;
    jam::v1::JoinJamRequest req;
    req.set_join_token(token);
    jam::v1::JoinJamResponse res;
    if (!stub(channel)->JoinJam(&ctx, req, &res).ok()) std::abort();
    return res.participant_token();
  }
};

struct Result {
  std::string scenario;
  size_t n_steers = 0;
  double steer_p50_ms = 0, steer_p99_ms = 0;
  size_t n_packets = 0;
  double delivery_p50_ms = 0, delivery_p99_ms = 0;
  uint64_t packets_dropped = 0;
  uint64_t xruns = 0, late_events = 0, mix_frames_lost = 0;
  size_t n_jams = 0;
  double seconds = 0;
};

struct Samples {
  absl::Mutex mu;
  std::vector<double> steer_ms;
  std::vector<double> delivery_ms;
  uint64_t dropped = 0;
  size_t packets = 0;
};

// Steers density and energy back and forth every `period` until `until`.
void steer_loop(jam::v1::Jam::Stub& stub, const std::string& token, Clock::duration period,
                Clock::time_point until, int phase, Samples& out) {
  std::vector<double> ms;
  int i = phase;
  while (Clock::now() < until) {
    jam::v1::SteerRequest req;
    req.set_participant_token(token);
    req.mutable_state()->set_density((i % 10) / 10.0f);
    req.mutable_state()->set_energy(((i + 5) % 10) / 10.0f);
    req.mutable_update_mask()->add_paths(i % 2 ? "density" : "energy");
    grpc::ClientContext ctx;
    jam::v1::SteerResponse res;
    const auto t0 = Clock::now();
    const grpc::Status st = stub.Steer(&ctx, req, &res);
    const double rtt = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (st.ok()) ms.push_back(rtt);
    ++i;
    std::this_thread::sleep_until(t0 + period);
  }
  absl::MutexLock lock(&out.mu);
  out.steer_ms.insert(out.steer_ms.end(), ms.begin(), ms.end());
}

// Reads a ListenAudio stream until `until`: delivery latency per packet, sequence gaps.
void listen_loop(jam::v1::Jam::Stub& stub, const std::string& token, Clock::time_point warm,
                 Clock::time_point until, Samples& out) {
  grpc::ClientContext ctx;
  jam::v1::ListenAudioRequest req;
  req.set_participant_token(token);
  auto reader = stub.ListenAudio(&ctx, req);
  std::vector<double> ms;
  uint64_t dropped = 0;
  size_t packets = 0;
  int64_t next = -1;
  jam::v1::AudioPacket p;
  while (Clock::now() < until && reader->Read(&p)) {
    if (Clock::now() < warm) {
      next = static_cast<int64_t>(p.sequence()) + 1;
      continue;
    }
    ms.push_back(static_cast<double>(absl::ToUnixMicros(absl::Now()) - p.encoded_unix_us()) /
                 1000.0);
    if (next >= 0 && static_cast<int64_t>(p.sequence()) > next) {
      dropped += static_cast<uint64_t>(static_cast<int64_t>(p.sequence()) - next);
    }
    next = static_cast<int64_t>(p.sequence()) + 1;
    ++packets;
  }
  ctx.TryCancel();
  absl::MutexLock lock(&out.mu);
  out.delivery_ms.insert(out.delivery_ms.end(), ms.begin(), ms.end());
  out.dropped += dropped;
  out.packets += packets;
}

Result finish(const char* name, Daemon& d, Samples& s, double seconds) {
  Result r;
  r.scenario = name;
  r.seconds = seconds;
  r.n_steers = s.steer_ms.size();
  r.steer_p50_ms = percentile(s.steer_ms, 0.5);
  r.steer_p99_ms = percentile(s.steer_ms, 0.99);
  r.n_packets = s.packets;
  r.delivery_p50_ms = percentile(s.delivery_ms, 0.5);
  r.delivery_p99_ms = percentile(s.delivery_ms, 0.99);
  r.packets_dropped = s.dropped;
  for (const jamd::HostedJamStats& j : d.hosted->stats()) {
    r.xruns += j.host.xruns;
    r.late_events += j.host.late_events;
    r.mix_frames_lost += j.host.mix_frames_lost;
    ++r.n_jams;
  }
  return r;
}

// Lets the conductor plan and the band start before measuring.
constexpr auto kWarmUp = std::chrono::seconds(2);

Result run_steer(double seconds) {
  constexpr size_t kParticipants = 100;
  Daemon d(8);
  const jam::v1::CreateJamResponse jam = d.create();
  std::vector<std::string> tokens;
  for (size_t i = 0; i < kParticipants; ++i) tokens.push_back(d.join(jam.player_token(), i));
  Samples s;
  const auto start = Clock::now() + kWarmUp;
  const auto until = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(seconds));
  std::this_thread::sleep_until(start);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < kParticipants; ++i) {
    threads.emplace_back([&, i] {
      auto stub = d.stub(i);
      // Each participant steers twice a second: 200 steers/s into one jam.
      steer_loop(*stub, tokens[i], std::chrono::milliseconds(500), until, static_cast<int>(i), s);
    });
  }
  for (auto& t : threads) t.join();
  return finish("steer: 100 participants, 1 jam", d, s, seconds);
}

Result run_listen(double seconds) {
  constexpr size_t kListeners = 256;
  Daemon d(16);
  const jam::v1::CreateJamResponse jam = d.create();
  std::vector<std::string> tokens;
  for (size_t i = 0; i < kListeners; ++i) tokens.push_back(d.join(jam.listener_token(), i));
  const std::string player = d.join(jam.player_token(), 0);
  Samples s;
  const auto warm = Clock::now() + kWarmUp;
  const auto until = warm + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < kListeners; ++i) {
    threads.emplace_back([&, i] {
      auto stub = d.stub(i);
      listen_loop(*stub, tokens[i], warm, until, s);
    });
  }
  threads.emplace_back([&] {
    auto stub = d.stub(0);
    std::this_thread::sleep_until(warm);
    steer_loop(*stub, player, std::chrono::seconds(1), until, 0, s);
  });
  for (auto& t : threads) t.join();
  return finish("listen: 256 listeners, 1 jam", d, s, seconds);
}

Result run_jams(double seconds) {
  constexpr size_t kJams = 32;
  Daemon d(16);
  std::vector<std::string> listeners, players;
  for (size_t i = 0; i < kJams; ++i) {
    const jam::v1::CreateJamResponse jam = d.create();
    listeners.push_back(d.join(jam.listener_token(), i));
    players.push_back(d.join(jam.player_token(), i));
  }
  Samples s;
  const auto warm = Clock::now() + kWarmUp;
  const auto until = warm + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < kJams; ++i) {
    threads.emplace_back([&, i] {
      auto stub = d.stub(i);
      listen_loop(*stub, listeners[i], warm, until, s);
    });
    threads.emplace_back([&, i] {
      auto stub = d.stub(i);
      std::this_thread::sleep_until(warm);
      steer_loop(*stub, players[i], std::chrono::seconds(1), until, static_cast<int>(i), s);
    });
  }
  for (auto& t : threads) t.join();
  return finish("jams: 32 jams, 1 listener + 1 player each", d, s, seconds);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 10;
  std::string only, out_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--seconds") seconds = std::atof(argv[i + 1]);
    else if (a == "--only") only = argv[i + 1];
    else if (a == "--out") out_path = argv[i + 1];
  }
  std::vector<Result> results;
  if (only.empty() || only == "steer") results.push_back(run_steer(seconds));
  if (only.empty() || only == "listen") results.push_back(run_listen(seconds));
  if (only.empty() || only == "jams") results.push_back(run_jams(seconds));
  std::printf("%-44s %7s %9s %9s %8s %9s %9s %8s %6s %6s %9s\n", "scenario", "steers",
              "steer p50", "steer p99", "packets", "deliv p50", "deliv p99", "dropped", "xruns",
              "late", "mix lost");
  std::string tsv = "scenario\tsteers\tsteer_p50_ms\tsteer_p99_ms\tpackets\tdelivery_p50_ms\t"
                    "delivery_p99_ms\tdropped\txruns\tlate_events\tmix_frames_lost\n";
  for (const Result& r : results) {
    std::printf("%-44s %7zu %7.2fms %7.2fms %8zu %7.2fms %7.2fms %8llu %6llu %6llu %9llu\n",
                r.scenario.c_str(), r.n_steers, r.steer_p50_ms, r.steer_p99_ms, r.n_packets,
                r.delivery_p50_ms, r.delivery_p99_ms,
                static_cast<unsigned long long>(r.packets_dropped),
                static_cast<unsigned long long>(r.xruns),
                static_cast<unsigned long long>(r.late_events),
                static_cast<unsigned long long>(r.mix_frames_lost));
    absl::StrAppend(&tsv, r.scenario, "\t", r.n_steers, "\t", r.steer_p50_ms, "\t",
                    r.steer_p99_ms, "\t", r.n_packets, "\t", r.delivery_p50_ms, "\t",
                    r.delivery_p99_ms, "\t", r.packets_dropped, "\t", r.xruns, "\t",
                    r.late_events, "\t", r.mix_frames_lost, "\n");
  }
  if (!out_path.empty()) std::ofstream(out_path) << tsv;
  return 0;
}
