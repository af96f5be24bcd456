// jam_load_bench: jamd under load on loopback, wired as `jamd serve` wires it (one Conductor
// with the bundled model, a JamHost on the real-time virtual clock and an Opus streamer per jam,
// the session layer, the gRPC API). The clients run in a second process (this program again,
// with --clients-only), so that their threads do not count as the daemon's work; --clients
// thread keeps them in the daemon's process, as a reference. Three scenarios (TARGETS.md "Sound
// and streaming", issue #6):
//   steer   100 participants steering one jam: Steer round trip p50/p99
//   listen  256 listeners on one jam: Opus delivery latency (encode -> client), dropped packets
//   jams    32 jams at once, each with a listener and a player steering once a second
//   churn   (only with --only churn) 24 such jams, while a jam starts and another ends every half
//           second: whether jams coming and going disturb the ones playing
// and for each the jams' RT health (xruns, late events, mix frames lost), and where the daemon's
// CPU went during the measured seconds: per thread name (conductor, virtual-clock = FluidSynth
// and the band per jam, jam-opus, jam-tap, jam-listen, gRPC's threads), from the kernel's
// per-thread scheduler statistics, with the time each group waited for a core and its wake-ups.
// Usage: jam_load_bench [--seconds N] [--only steer|listen|jams|churn] [--out FILE.tsv]
//                       [--clients process|thread] [--daemon-cpus LIST --client-cpus LIST]
//                       [--threads shared|per-jam] [--effects on|off] [--commit-ms MS]
//                       [--clock-threads N] [--standby N] [--period FRAMES] [--stall-probe off|on]
//                       [--xrun-detail off|on] [--pin-clock on|off] [--plan-beats BEATS]
//                       [--tempo BPM]
// --stall-probe on puts each xrun of the shared clock down to the machine or to jamd
// (bench/stall_probe.h); --xrun-detail on prints every late pass, with its steady-clock time to
// find it in `perf record -k CLOCK_MONOTONIC -a -e sched:sched_switch`. The probes wake 1,000 times
// a second per CPU and lengthen the pacing passes (p50 3.5 -> 4.25 ms at 32 jams), so they are off
// when the targets are measured.
// --pin-clock off leaves the shared clock's threads unpinned (SharedClockOptions::pin_threads).
// CPU lists are sched_setaffinity's, e.g. 0 or 0,1 (like taskset -c).
#include <grpcpp/create_channel.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "bench/stall_probe.h"
#include "bench/thread_cpu.h"
#include "daemon/api/api_server.h"
#include "daemon/conductor/conductor.h"
#include "daemon/host/jam_host.h"
#include "daemon/host/thread_priority.h"
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

// Pins the calling thread (and the threads it starts later) to `cpus` ("0,1"); empty: no-op.
void pin_to(const std::string& cpus) {
  if (cpus.empty()) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (absl::string_view c : absl::StrSplit(cpus, ',')) {
    int cpu = 0;
    if (absl::SimpleAtoi(c, &cpu)) CPU_SET(cpu, &set);
  }
  if (sched_setaffinity(0, sizeof(set), &set) != 0)
    std::perror("jam_load_bench: sched_setaffinity");
}

// Connections of their own: gRPC allows 64 streams per connection (api_server.cc), and real
// listeners come on their own connections.
std::vector<std::shared_ptr<grpc::Channel>> open_channels(int port, size_t n) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (size_t i = 0; i < n; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    channels.push_back(grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                                 grpc::InsecureChannelCredentials(), args));
  }
  return channels;
}

// Names the threads started since `before` (the conductor's own thread is unnamed).
void name_new_threads(const jamd::bench::ThreadCpuSnapshot& before, const char* name) {
  for (const auto& [tid, t] : jamd::bench::ThreadCpuSnapshot::take().threads) {
    if (!before.threads.contains(tid))
      std::ofstream(absl::StrCat("/proc/self/task/", tid, "/comm")) << name;
  }
}

// How the daemon runs its jams: as jamd serve does (one pacing thread and one worker for every
// jam), or each jam on threads of its own (the clock, tap, listener and streamer: the reference).
struct DaemonOptions {
  bool shared_threads = true;
  bool synth_effects = true;
  int clock_threads = jamd::SharedClockOptions{}.threads;  // the shared clock's pacing threads
  int standby_threads = jamd::SharedClockOptions{}.standby_threads;  // and its standby threads
  bool pin_clock = jamd::SharedClockOptions{}.pin_threads;
  uint32_t period_frames = jamd::kStreamPeriodFrames;  // the virtual clock's period, as serve's
  double commit_horizon_ms = jamd::Horizons{}.commit_horizon_ms;
  double planning_horizon_beats = jamd::Horizons{}.planning_horizon_beats;
  double tempo_bpm = 120.0;  // every jam's, from its creation
};

// A jamd with music on 127.0.0.1, as jamd serve builds it.
struct Daemon {
  std::unique_ptr<jamd::Conductor> conductor;
  std::unique_ptr<jamd::SharedClock> clock;
  std::unique_ptr<jamd::SharedWorker> worker;
  std::unique_ptr<HostedJams> hosted;
  std::unique_ptr<jamd::SessionRegistry> jams;
  std::unique_ptr<jamd::api::ApiServer> server;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  double tempo_bpm;

  explicit Daemon(const DaemonOptions& options) : tempo_bpm(options.tempo_bpm) {
    jamd::ConductorOptions co{.model_path = JAMD_SOURCE_DIR "/models/band.jamd"};
    co.max_jams = 64;
    co.horizons.commit_horizon_ms = options.commit_horizon_ms;
    co.horizons.planning_horizon_beats = options.planning_horizon_beats;
    conductor = *jamd::Conductor::create(co);
    const jamd::bench::ThreadCpuSnapshot before = jamd::bench::ThreadCpuSnapshot::take();
    if (options.shared_threads) {  // and the priorities jamd serve gives them
      jamd::start_at_nice(jamd::kConductorNice, [this] { conductor->start(); });
    } else {
      conductor->start();
    }
    name_new_threads(before, "conductor");
    jamd::JamHostOptions host;
    host.synth_effects = options.synth_effects;
    host.period_frames = options.period_frames;
    jamd::HostedJamsOptions hosted_options;
    if (options.shared_threads) {
      clock = std::make_unique<jamd::SharedClock>(
          jamd::SharedClockOptions{.sample_rate_hz = host.sample_rate_hz,
                                   .period_frames = host.period_frames,
                                   .rt_priority = jamd::kSharedClockRtPriority,
                                   .threads = options.clock_threads,
                                   .standby_threads = options.standby_threads,
                                   .pin_threads = options.pin_clock});
      worker = std::make_unique<jamd::SharedWorker>(
          jamd::SharedWorkerOptions{.nice = jamd::kSharedWorkerNice});
      host.shared_clock = clock.get();
      host.shared_worker = worker.get();
      hosted_options.shared_worker = worker.get();
    }
    hosted = std::make_unique<HostedJams>(
        [this, host](jamd::JamId id, const jamd::JamState& s) {
          return jamd::JamHost::start(id, s, *conductor, host);
        },
        hosted_options);
    jamd::SessionLimits limits;
    limits.max_participants_per_jam = 512;
    limits.max_watchers_per_jam = 512;
    jams = std::make_unique<jamd::SessionRegistry>(limits, hosted.get());
    jamd::api::ServerOptions so;
    so.listen_address = "127.0.0.1:0";
    server = *jamd::api::ApiServer::start(so, jams.get(), hosted.get());
    channels = open_channels(server->port(), 1);
  }
  ~Daemon() {
    server->shutdown(absl::Seconds(1));
    hosted->shutdown();
    conductor->stop();
  }
  jam::v1::CreateJamResponse create() {
    grpc::ClientContext ctx;
    jam::v1::CreateJamRequest req;
    req.set_tempo_bpm(tempo_bpm);
    jam::v1::CreateJamResponse res;
    if (!jam::v1::Jam::NewStub(channels[0])->CreateJam(&ctx, req, &res).ok()) std::abort();
    return res;
  }
  void end(const std::string& host_participant_token) {
    grpc::ClientContext ctx;
    jam::v1::EndJamRequest req;
    req.set_participant_token(host_participant_token);
    jam::v1::EndJamResponse res;
    if (!jam::v1::Jam::NewStub(channels[0])->EndJam(&ctx, req, &res).ok()) std::abort();
  }
  std::string join(const std::string& token) {
    grpc::ClientContext ctx;
    jam::v1::JoinJamRequest req;
    req.set_join_token(token);
    jam::v1::JoinJamResponse res;
    if (!jam::v1::Jam::NewStub(channels[0])->JoinJam(&ctx, req, &res).ok()) std::abort();
    return res.participant_token();
  }
};

// What one client does: listen to a jam's audio, or steer it every period_ms.
struct ClientSpec {
  bool listens = false;
  std::string token;
  int period_ms = 0;
};

// What the clients measured; also the line a client process prints for its parent.
struct ClientResult {
  size_t n_steers = 0;  // answered OK
  size_t steers_failed = 0;
  int last_failure_code = 0;  // grpc::StatusCode of the last failed steer
  double steer_p50_ms = 0, steer_p99_ms = 0;
  size_t n_packets = 0;
  double delivery_p50_ms = 0, delivery_p99_ms = 0;
  uint64_t packets_dropped = 0;
  double process_cpu_s = 0;  // the client process's CPU, warm-up included (0: threads)

  std::string to_line() const {
    return absl::StrCat(n_steers, " ", steer_p50_ms, " ", steer_p99_ms, " ", n_packets, " ",
                        delivery_p50_ms, " ", delivery_p99_ms, " ", packets_dropped, " ",
                        steers_failed, " ", last_failure_code);
  }
  static ClientResult from_line(const std::string& line) {
    ClientResult r;
    std::istringstream in(line);
    in >> r.n_steers >> r.steer_p50_ms >> r.steer_p99_ms >> r.n_packets >> r.delivery_p50_ms >>
        r.delivery_p99_ms >> r.packets_dropped >> r.steers_failed >> r.last_failure_code;
    return r;
  }
};

struct Samples {
  absl::Mutex mu;
  std::vector<double> steer_ms;
  size_t steers_failed = 0;
  int last_failure_code = 0;
  std::vector<double> delivery_ms;
  uint64_t dropped = 0;
  size_t packets = 0;
};

// Steers density and energy back and forth every `period` from `warm` until `until`.
void steer_loop(jam::v1::Jam::Stub& stub, const std::string& token, Clock::duration period,
                Clock::time_point warm, Clock::time_point until, int phase, Samples& out) {
  std::this_thread::sleep_until(warm);
  std::vector<double> ms;
  size_t failed = 0;
  int failure_code = 0;
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
    if (st.ok()) {
      ms.push_back(rtt);
    } else {
      ++failed;
      failure_code = static_cast<int>(st.error_code());
    }
    ++i;
    std::this_thread::sleep_until(t0 + period);
  }
  absl::MutexLock lock(&out.mu);
  out.steer_ms.insert(out.steer_ms.end(), ms.begin(), ms.end());
  out.steers_failed += failed;
  if (failed > 0) out.last_failure_code = failure_code;
}

// Reads a ListenAudio stream until `until`: delivery latency per packet, sequence gaps. The
// daemon's clock is this machine's, so encoded_unix_us compares with our receive time.
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

// Lets the conductor plan and the band start before measuring.
constexpr double kWarmUpSeconds = 2;
// Client connections: 256 listeners share 16 (64 streams each at most).
constexpr size_t kClientChannels = 16;

// Runs every client on its own thread against jamd on `port`; returns what they measured.
ClientResult run_clients(int port, const std::vector<ClientSpec>& specs, double seconds) {
  const std::vector<std::shared_ptr<grpc::Channel>> channels = open_channels(port, kClientChannels);
  Samples s;
  const auto warm = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(kWarmUpSeconds));
  const auto until =
      warm + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < specs.size(); ++i) {
    threads.emplace_back([&, i] {
      pthread_setname_np(pthread_self(), "client");
      auto stub = jam::v1::Jam::NewStub(channels[i % channels.size()]);
      const ClientSpec& c = specs[i];
      if (c.listens) {
        listen_loop(*stub, c.token, warm, until, s);
      } else {
        steer_loop(*stub, c.token, std::chrono::milliseconds(c.period_ms), warm, until,
                   static_cast<int>(i), s);
      }
    });
  }
  for (auto& t : threads) t.join();
  ClientResult r;
  r.n_steers = s.steer_ms.size();
  r.steers_failed = s.steers_failed;
  r.last_failure_code = s.last_failure_code;
  r.steer_p50_ms = percentile(s.steer_ms, 0.5);
  r.steer_p99_ms = percentile(s.steer_ms, 0.99);
  r.n_packets = s.packets;
  r.delivery_p50_ms = percentile(s.delivery_ms, 0.5);
  r.delivery_p99_ms = percentile(s.delivery_ms, 0.99);
  r.packets_dropped = s.dropped;
  return r;
}

// The client file: one line per client, "listen TOKEN" or "steer TOKEN PERIOD_MS".
void write_specs(const std::string& path, const std::vector<ClientSpec>& specs) {
  std::ofstream out(path);
  for (const ClientSpec& c : specs) {
    if (c.listens)
      out << "listen " << c.token << "\n";
    else
      out << "steer " << c.token << " " << c.period_ms << "\n";
  }
}
std::vector<ClientSpec> read_specs(const std::string& path) {
  std::vector<ClientSpec> specs;
  std::ifstream in(path);
  std::string kind;
  while (in >> kind) {
    ClientSpec c;
    c.listens = kind == "listen";
    in >> c.token;
    if (!c.listens) in >> c.period_ms;
    specs.push_back(c);
  }
  return specs;
}

struct Options {
  DaemonOptions daemon;
  double seconds = 10;
  bool clients_in_process = false;
  bool xrun_detail = false;  // a line per late pass of the shared clock, on stderr
  bool stall_probe = false;  // StallProbe threads, to tell the machine's xruns from jamd's
  std::string daemon_cpus, client_cpus;
};

// Runs the clients in a child process (this program with --clients-only) and reads its result.
ClientResult run_clients_apart(const Options& o, int port, const std::vector<ClientSpec>& specs) {
  char path[] = "/tmp/jam_load_clients_XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) std::abort();
  close(fd);
  write_specs(path, specs);
  std::string cmd = absl::StrCat("exec /proc/", getpid(), "/exe --clients-only ", path, " --port ",
                                 port, " --seconds ", o.seconds);
  if (!o.client_cpus.empty()) absl::StrAppend(&cmd, " --client-cpus ", o.client_cpus);
  rusage before{};
  getrusage(RUSAGE_CHILDREN, &before);
  FILE* child = popen(cmd.c_str(), "r");
  if (child == nullptr) std::abort();
  std::string line;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), child) != nullptr) line += buf;
  if (pclose(child) != 0) {
    std::fprintf(stderr, "jam_load_bench: the client process failed\n");
    std::exit(1);
  }
  std::remove(path);
  rusage after{};
  getrusage(RUSAGE_CHILDREN, &after);
  const auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec * 1e-6; };
  ClientResult r = ClientResult::from_line(line);
  r.process_cpu_s = seconds(after.ru_utime) - seconds(before.ru_utime) + seconds(after.ru_stime) -
                    seconds(before.ru_stime);
  return r;
}

struct RtHealth {
  uint64_t xruns = 0, late_events = 0;
  uint64_t events = 0;              // every MIDI event handed out or dropped, late or not
  uint64_t late_notes_dropped = 0;  // of the late events: note-ons too late to play
  uint64_t late_frames_max = 0;     // the latest event of any jam, whole run
};
// Each playing jam's counters, by jam id: jams may start and end between two snapshots.
using HealthSnapshot = std::map<std::string, jamd::JamHostStats>;
HealthSnapshot health_snapshot(const HostedJams& hosted) {
  HealthSnapshot snapshot;
  for (const jamd::HostedJamStats& j : hosted.stats()) snapshot[j.jam_id] = j.host;
  return snapshot;
}
// What the jams playing at `after` counted since `before` (a jam started since: all of it). A jam
// that ended in between takes its counts with it.
RtHealth health_between(const HealthSnapshot& before, const HealthSnapshot& after) {
  RtHealth h;
  for (const auto& [id, a] : after) {
    const auto it = before.find(id);
    const jamd::JamHostStats b = it == before.end() ? jamd::JamHostStats{} : it->second;
    h.xruns += a.xruns - b.xruns;
    h.late_events += a.late_events - b.late_events;
    h.events +=
        a.events_played + a.late_note_ons_dropped - b.events_played - b.late_note_ons_dropped;
    h.late_notes_dropped += a.late_note_ons_dropped - b.late_note_ons_dropped;
    h.late_frames_max = std::max(h.late_frames_max, a.late_frames_max);
  }
  return h;
}

struct Result {
  std::string scenario;
  ClientResult clients;
  uint64_t xruns = 0, late_events = 0, mix_frames_lost = 0;
  size_t n_jams = 0;
  double seconds = 0;            // measured
  RtHealth measured;             // xruns and late events in the measured seconds
  jamd::SharedClockStats clock;  // the pacing threads in the measured seconds
  // The measured seconds' xruns of the shared clock's seats, by cause: a machine stall (the
  // stall probe could not run either, long enough to make the seat late) or jamd's own.
  uint64_t machine_xruns = 0, own_xruns = 0, probe_stalls = 0;
  double probe_max_stall_ms = 0;
  bool probe_rt = false;
  std::vector<jamd::bench::ThreadGroupCpu> cpu;  // the daemon's threads over `seconds`
};

// Takes the daemon's thread CPU snapshots at the end of the warm-up and of the run, beside the
// clients, so that the breakdown covers the measured seconds only.
class CpuWindow {
 public:
  CpuWindow(double seconds, const HostedJams& hosted, const jamd::SharedClock* clock)
      : thread_([this, seconds, &hosted, clock] {
          const auto warm = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(kWarmUpSeconds));
          std::this_thread::sleep_until(warm);
          from_ = Clock::now();
          before_ = jamd::bench::ThreadCpuSnapshot::take();
          health_before_ = health_snapshot(hosted);
          if (clock != nullptr) clock_before_ = clock->stats();
          std::this_thread::sleep_until(warm + std::chrono::duration_cast<Clock::duration>(
                                                   std::chrono::duration<double>(seconds)));
          after_ = jamd::bench::ThreadCpuSnapshot::take();
          to_ = Clock::now();
          health_after_ = health_snapshot(hosted);
          if (clock != nullptr) clock_after_ = clock->stats();
        }) {}
  // xruns and late events in the measured seconds (after finish()).
  RtHealth measured() const { return health_between(health_before_, health_after_); }
  // The pacing threads' counts in the measured seconds; the maxima are the whole run's.
  jamd::SharedClockStats clock() const { return clock_after_.since(clock_before_); }
  Clock::time_point from() const { return from_; }  // the measured seconds (after finish())
  Clock::time_point to() const { return to_; }
  std::vector<jamd::bench::ThreadGroupCpu> finish() {
    thread_.join();
    return jamd::bench::cpu_by_group(before_, after_);
  }

 private:
  jamd::bench::ThreadCpuSnapshot before_, after_;
  HealthSnapshot health_before_, health_after_;
  jamd::SharedClockStats clock_before_, clock_after_;
  Clock::time_point from_, to_;
  std::thread thread_;
};

// Sorts the shared clock's late passes in [from, to] by cause (Result::machine_xruns); `detail`
// prints every late pass of the run, those outside [from, to] marked.
// stalls[cpu]: what the probe on that CPU recorded.
void attribute_xruns(const std::vector<jamd::SharedClockLatePass>& passes,
                     const std::vector<std::vector<jamd::bench::StallProbe::Stall>>& per_cpu,
                     Clock::duration period, Clock::time_point from, Clock::time_point to,
                     bool detail, Result& r) {
  static const std::vector<jamd::bench::StallProbe::Stall> kNone;
  for (const jamd::SharedClockLatePass& p : passes) {
    const bool measured = p.deadline >= from && p.deadline < to;
    if (!measured && !detail) continue;
    const auto& stalls = p.cpu >= 0 && static_cast<size_t>(p.cpu) < per_cpu.size()
                             ? per_cpu[static_cast<size_t>(p.cpu)]
                             : kNone;
    // The pass's last late seat would have started in time had the machine not stalled.
    const Clock::duration late_by = p.last_late_seat - p.deadline - period;
    const bool machine =
        jamd::bench::StallProbe::stalled_within(stalls, p.deadline, p.last_late_seat) >= late_by;
    if (measured) (machine ? r.machine_xruns : r.own_xruns) += p.late_seats;
    if (detail) {
      // Pinned apart, the standby covers one held CPU: whether the other CPUs were held too says
      // whether it could.
      Clock::duration others_stalled{};
      for (size_t c = 0; c < per_cpu.size(); ++c) {
        if (static_cast<int>(c) == p.cpu) continue;
        others_stalled = std::max(others_stalled, jamd::bench::StallProbe::stalled_within(
                                                      per_cpu[c], p.deadline, p.last_late_seat));
      }
      const auto ms = [](Clock::duration d) {
        return std::chrono::duration<double, std::milli>(d).count();
      };
      std::fprintf(
          stderr,
          "late pass at %.1f s (steady clock %.6f s) on cpu %d: woke %.2f ms late, last late seat "
          "%.2f ms after waking, %u seats, probe stalled %.2f ms (other CPUs: %.2f ms), %s%s\n",
          std::chrono::duration<double>(p.deadline - from).count(),
          std::chrono::duration<double>(p.deadline.time_since_epoch()).count(), p.cpu,
          ms(p.began - p.deadline), ms(p.last_late_seat - p.began), p.late_seats,
          ms(jamd::bench::StallProbe::stalled_within(stalls, p.deadline, p.last_late_seat)),
          ms(others_stalled), machine ? "machine" : "own",
          measured ? "" : " (not measured: warm-up or wind-down)");
    }
  }
  for (const auto& stalls : per_cpu) {
    for (const jamd::bench::StallProbe::Stall& s : stalls) {
      if (s.from < from || s.from >= to) continue;
      ++r.probe_stalls;
      r.probe_max_stall_ms = std::max(
          r.probe_max_stall_ms, std::chrono::duration<double, std::milli>(s.to - s.from).count());
    }
  }
}

// `meanwhile` (optional) runs on a thread of its own from the clients' start until `done`.
Result run_scenario(
    const Options& o, const char* name,
    const std::function<std::vector<ClientSpec>(Daemon&)>& make_clients,
    const std::function<void(Daemon&, const std::atomic<bool>& done)>& meanwhile = nullptr) {
  Daemon d(o.daemon);
  const std::vector<ClientSpec> specs = make_clients(d);
  d.hosted->wait_idle();  // every jam plays before the clients start
  Result r;
  r.scenario = name;
  r.seconds = o.seconds;
  // One stall probe on each CPU the daemon may use.
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  sched_getaffinity(0, sizeof(cpus), &cpus);
  std::vector<std::unique_ptr<jamd::bench::StallProbe>> probes(
      std::min<size_t>(CPU_SETSIZE, std::thread::hardware_concurrency()));
  for (size_t c = 0; c < probes.size(); ++c)
    if (o.stall_probe && CPU_ISSET(c, &cpus))
      probes[c] = std::make_unique<jamd::bench::StallProbe>(static_cast<int>(c));
  CpuWindow window(o.seconds, *d.hosted, d.clock.get());
  std::atomic<bool> done{false};
  std::thread side;
  if (meanwhile) side = std::thread([&] { meanwhile(d, done); });
  r.clients = o.clients_in_process ? run_clients(d.server->port(), specs, o.seconds)
                                   : run_clients_apart(o, d.server->port(), specs);
  done.store(true);
  if (side.joinable()) side.join();
  r.cpu = window.finish();
  r.measured = window.measured();
  r.clock = window.clock();
  r.probe_rt = true;
  std::vector<std::vector<jamd::bench::StallProbe::Stall>> stalls(probes.size());
  for (size_t c = 0; c < probes.size(); ++c) {
    if (probes[c] == nullptr) continue;
    r.probe_rt &= probes[c]->got_rt_priority();
    stalls[c] = probes[c]->stop();
  }
  if (d.clock != nullptr)
    attribute_xruns(d.clock->late_passes(), stalls, d.clock->period(), window.from(), window.to(),
                    o.xrun_detail, r);
  // RT health over the whole run (warm-up included).
  for (const jamd::HostedJamStats& j : d.hosted->stats()) {
    ++r.n_jams;
    r.xruns += j.host.xruns;
    r.late_events += j.host.late_events;
    r.mix_frames_lost += j.host.mix_frames_lost;
  }
  return r;
}

Result run_steer(const Options& o) {
  return run_scenario(o, "steer: 100 participants, 1 jam", [](Daemon& d) {
    const jam::v1::CreateJamResponse jam = d.create();
    std::vector<ClientSpec> specs;
    // Each participant steers twice a second: 200 steers/s into one jam.
    for (int i = 0; i < 100; ++i) specs.push_back({false, d.join(jam.player_token()), 500});
    return specs;
  });
}

Result run_listen(const Options& o) {
  return run_scenario(o, "listen: 256 listeners, 1 jam", [](Daemon& d) {
    const jam::v1::CreateJamResponse jam = d.create();
    std::vector<ClientSpec> specs;
    for (int i = 0; i < 256; ++i) specs.push_back({true, d.join(jam.listener_token()), 0});
    specs.push_back({false, d.join(jam.player_token()), 1000});
    return specs;
  });
}

// n jams, each with a listener and a player steering once a second.
std::vector<ClientSpec> jams_with_a_listener_and_a_player(Daemon& d, int n) {
  std::vector<ClientSpec> specs;
  for (int i = 0; i < n; ++i) {
    const jam::v1::CreateJamResponse jam = d.create();
    specs.push_back({true, d.join(jam.listener_token()), 0});
    specs.push_back({false, d.join(jam.player_token()), 1000});
  }
  return specs;
}

Result run_jams(const Options& o) {
  return run_scenario(o, "jams: 32 jams, 1 listener + 1 player each",
                      [](Daemon& d) { return jams_with_a_listener_and_a_player(d, 32); });
}

// 24 jams as in run_jams, and beside them jams that come and go: one starts every half second,
// and the oldest ends once 4 are up. Their xruns count with the others' while they play.
Result run_churn(const Options& o) {
  return run_scenario(
      o, "churn: 24 jams; 1 starts, 1 ends every 0.5 s",
      [](Daemon& d) { return jams_with_a_listener_and_a_player(d, 24); },
      [](Daemon& d, const std::atomic<bool>& done) {
        std::deque<std::string> hosts;
        while (!done.load()) {
          hosts.push_back(d.join(d.create().host_token()));
          if (hosts.size() > 4) {
            d.end(hosts.front());
            hosts.pop_front();
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
        for (const std::string& host : hosts) d.end(host);
      });
}

// Where the daemon's CPU went in one scenario: per thread name, the share of one core, the
// milliseconds per jam-second, the time spent runnable but waiting for a core, the wake-ups.
void print_cpu(const Result& r, std::string& tsv) {
  double total = 0;
  for (const auto& g : r.cpu) total += g.cpu_s;
  const double jam_seconds = std::max<double>(1, static_cast<double>(r.n_jams)) * r.seconds;
  std::printf(
      "\n%s: in the measured %.0f s %llu xruns, %llu late events of %llu (%llu notes dropped; the "
      "latest by %.1f ms, whole run); the daemon's CPU (2 cores = 200 %%):\n",
      r.scenario.c_str(), r.seconds, static_cast<unsigned long long>(r.measured.xruns),
      static_cast<unsigned long long>(r.measured.late_events),
      static_cast<unsigned long long>(r.measured.events),
      static_cast<unsigned long long>(r.measured.late_notes_dropped),
      static_cast<double>(r.measured.late_frames_max) / 48.0);
  std::printf("  %-18s %7s %8s %12s %11s %10s\n", "threads", "n", "% core", "ms/jam-s", "waited %",
              "runs/s");
  for (const auto& g : r.cpu) {
    if (g.cpu_s < 0.001 * r.seconds) continue;  // under 0.1 % of a core
    std::printf("  %-18s %7d %7.1f%% %12.2f %10.1f%% %10.0f\n", g.name.c_str(), g.n_threads,
                100 * g.cpu_s / r.seconds, 1000 * g.cpu_s / jam_seconds, 100 * g.wait_s / r.seconds,
                static_cast<double>(g.runs) / r.seconds);
    absl::StrAppend(&tsv, "cpu\t", r.scenario, "\t", g.name, "\t", g.n_threads, "\t",
                    g.cpu_s / r.seconds, "\t", g.wait_s / r.seconds, "\t",
                    static_cast<double>(g.runs) / r.seconds, "\n");
  }
  std::printf("  %-18s %7s %7.1f%% %12.2f\n", "daemon total", "", 100 * total / r.seconds,
              1000 * total / jam_seconds);
  if (r.clients.process_cpu_s > 0) {
    std::printf("  %-18s %7s %7.1f%%   (its whole run, warm-up included)\n", "client process", "",
                100 * r.clients.process_cpu_s / (r.seconds + kWarmUpSeconds));
  }
}

// The child: --clients-only FILE --port P --seconds S [--client-cpus LIST]
int clients_only_main(int argc, char** argv) {
  std::string specs_path = argv[2], cpus;
  int port = 0;
  double seconds = 10;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--port")
      port = std::atoi(argv[i + 1]);
    else if (a == "--seconds")
      seconds = std::atof(argv[i + 1]);
    else if (a == "--client-cpus")
      cpus = argv[i + 1];
  }
  pin_to(cpus);
  std::printf("%s\n", run_clients(port, read_specs(specs_path), seconds).to_line().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::string(argv[1]) == "--clients-only") return clients_only_main(argc, argv);
  Options o;
  std::string only, out_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--seconds")
      o.seconds = std::atof(argv[i + 1]);
    else if (a == "--only")
      only = argv[i + 1];
    else if (a == "--out")
      out_path = argv[i + 1];
    else if (a == "--clients")
      o.clients_in_process = std::string(argv[i + 1]) == "thread";
    else if (a == "--daemon-cpus")
      o.daemon_cpus = argv[i + 1];
    else if (a == "--client-cpus")
      o.client_cpus = argv[i + 1];
    else if (a == "--threads")
      o.daemon.shared_threads = std::string(argv[i + 1]) != "per-jam";
    else if (a == "--commit-ms")
      o.daemon.commit_horizon_ms = std::atof(argv[i + 1]);
    else if (a == "--plan-beats")
      o.daemon.planning_horizon_beats = std::atof(argv[i + 1]);
    else if (a == "--tempo")
      o.daemon.tempo_bpm = std::clamp(std::atof(argv[i + 1]), 30.0, 300.0);
    else if (a == "--effects")
      o.daemon.synth_effects = std::string(argv[i + 1]) != "off";
    else if (a == "--xrun-detail")
      o.xrun_detail = std::string(argv[i + 1]) == "on";
    else if (a == "--stall-probe")
      o.stall_probe = std::string(argv[i + 1]) == "on";
    else if (a == "--period")
      o.daemon.period_frames = static_cast<uint32_t>(std::clamp(std::atoi(argv[i + 1]), 64, 4096));
    else if (a == "--clock-threads")
      o.daemon.clock_threads = std::atoi(argv[i + 1]);
    else if (a == "--standby")
      o.daemon.standby_threads = std::atoi(argv[i + 1]);
    else if (a == "--pin-clock")
      o.daemon.pin_clock = std::string(argv[i + 1]) != "off";
  }
  pin_to(o.daemon_cpus);  // before any of the daemon's threads start
  std::vector<Result> results;
  if (only.empty() || only == "steer") results.push_back(run_steer(o));
  if (only.empty() || only == "listen") results.push_back(run_listen(o));
  if (only.empty() || only == "jams") results.push_back(run_jams(o));
  if (only == "churn") results.push_back(run_churn(o));
  std::printf("virtual clock: %u frames a period; ", o.daemon.period_frames);
  std::printf(
      "jams' threads: %s; synth effects: %s; commit horizon %.0f ms; planning horizon %.1f "
      "beats; %.0f BPM\n",
      o.daemon.shared_threads
          ? absl::StrCat("shared (", o.daemon.clock_threads, " pacing, ", o.daemon.standby_threads,
                         " standby", o.daemon.pin_clock ? ", pinned apart" : ", unpinned",
                         ", one worker)")
                .c_str()
          : "per jam (clock, tap, listener, streamer)",
      o.daemon.synth_effects ? "on" : "off", o.daemon.commit_horizon_ms,
      o.daemon.planning_horizon_beats, o.daemon.tempo_bpm);
  std::printf("clients: %s; daemon cpus: %s; client cpus: %s\n",
              o.clients_in_process ? "threads of the daemon's process" : "a process of their own",
              o.daemon_cpus.empty() ? "any" : o.daemon_cpus.c_str(),
              o.client_cpus.empty() ? "any" : o.client_cpus.c_str());
  // xruns and late events twice: in the measured seconds (the steady state the targets are
  // about), and over the whole run (warm-up and teardown too: jams starting at once).
  std::printf("%-44s %7s %9s %9s %8s %9s %9s %8s %6s %6s %6s %6s %9s\n", "scenario", "steers",
              "steer p50", "steer p99", "packets", "deliv p50", "deliv p99", "dropped", "xruns",
              "late", "xr all", "lt all", "mix lost");
  std::string tsv =
      "scenario\tsteers\tsteer_p50_ms\tsteer_p99_ms\tpackets\tdelivery_p50_ms\t"
      "delivery_p99_ms\tdropped\txruns\tlate_events\tmix_frames_lost\tmeasured_xruns\t"
      "measured_late_events\n";
  for (const Result& r : results) {
    const ClientResult& c = r.clients;
    std::printf(
        "%-44s %7zu %7.2fms %7.2fms %8zu %7.2fms %7.2fms %8llu %6llu %6llu %6llu %6llu %9llu\n",
        r.scenario.c_str(), c.n_steers, c.steer_p50_ms, c.steer_p99_ms, c.n_packets,
        c.delivery_p50_ms, c.delivery_p99_ms, static_cast<unsigned long long>(c.packets_dropped),
        static_cast<unsigned long long>(r.measured.xruns),
        static_cast<unsigned long long>(r.measured.late_events),
        static_cast<unsigned long long>(r.xruns), static_cast<unsigned long long>(r.late_events),
        static_cast<unsigned long long>(r.mix_frames_lost));
    absl::StrAppend(&tsv, r.scenario, "\t", c.n_steers, "\t", c.steer_p50_ms, "\t", c.steer_p99_ms,
                    "\t", c.n_packets, "\t", c.delivery_p50_ms, "\t", c.delivery_p99_ms, "\t",
                    c.packets_dropped, "\t", r.xruns, "\t", r.late_events, "\t", r.mix_frames_lost,
                    "\t", r.measured.xruns, "\t", r.measured.late_events, "\n");
  }
  // "steers" counts the answered ones; a refused steer is a finding, not a sample.
  for (const Result& r : results) {
    if (r.clients.steers_failed == 0) continue;
    std::printf("%s: %zu steers failed (the last with gRPC status %s)\n", r.scenario.c_str(),
                r.clients.steers_failed,
                absl::StatusCodeToString(static_cast<absl::StatusCode>(r.clients.last_failure_code))
                    .c_str());
  }
  if (o.daemon.shared_threads) {
    // Why seats were late: a pass woken late (the scheduler's) or a pass longer than a period
    // (its own work); and each xrun's cause, against the stall probe's record of the machine.
    // "relieved": passes in which a standby thread played seats, and how many it played; "owed":
    // periods a seat's thread played for passes that reached the seat while it was held up.
    std::printf("\n%-44s %7s %7s %7s %6s %9s %6s %9s %14s %6s %8s %9s %8s %6s\n",
                "shared clock (counts: measured; max: run)", "passes", "p50", "p99", "late w",
                "max late", "long p", "longest", "relieved/seats", "owed", "stalls", "max stall",
                "machine", "own");
    for (const Result& r : results) {
      std::printf("%-44s %7llu %5.2fms %5.2fms %6llu %7.2fms %6llu %7.2fms %7llu/%-6llu %6llu",
                  r.scenario.c_str(), static_cast<unsigned long long>(r.clock.passes),
                  r.clock.pass_percentile_ms(0.5), r.clock.pass_percentile_ms(0.99),
                  static_cast<unsigned long long>(r.clock.late_wakes), r.clock.max_wake_late_ms,
                  static_cast<unsigned long long>(r.clock.long_passes), r.clock.max_pass_ms,
                  static_cast<unsigned long long>(r.clock.relieved_passes),
                  static_cast<unsigned long long>(r.clock.standby_seats),
                  static_cast<unsigned long long>(r.clock.owed_periods));
      if (o.stall_probe) {
        std::printf(" %8llu %7.2fms %8llu %6llu\n", static_cast<unsigned long long>(r.probe_stalls),
                    r.probe_max_stall_ms, static_cast<unsigned long long>(r.machine_xruns),
                    static_cast<unsigned long long>(r.own_xruns));
      } else {
        std::printf(" %8s %9s %8s %6s\n", "-", "-", "-", "-");  // --stall-probe on
      }
    }
    if (o.stall_probe && !results.empty() && !results.front().probe_rt)
      std::printf("(a stall probe got no SCHED_FIFO priority or CPU: its stalls mean nothing)\n");
  }
  for (const Result& r : results) print_cpu(r, tsv);
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) == 3)
    std::printf("\nload average %.2f %.2f %.2f\n", load[0], load[1], load[2]);
  if (!out_path.empty()) std::ofstream(out_path) << tsv;
  return 0;
}
