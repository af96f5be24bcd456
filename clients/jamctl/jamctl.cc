// jamctl: the command-line client of jamd's jam.v1 API. Creates, joins, steers and watches
// jams; human-friendly output by default, --json for scripts. Usage: jamctl --help.
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "clients/jamctl/jack_player.h"
#include "clients/jamctl/output.h"
#include "clients/jamctl/steer_args.h"
#include "clients/jamctl/wav_recorder.h"
#include "jam/v1/jam.grpc.pb.h"

namespace jamctl {
namespace {

constexpr const char* kUsage =
    "usage: jamctl [--server HOST:PORT] [--json] [--tls-ca FILE] COMMAND [args]\n"
    "\n"
    "commands:\n"
    "  create [--tempo BPM]            create a jam; prints its host, player and listener tokens\n"
    "  join JOIN_TOKEN [--name NAME]   join; prints your participant token (export it as\n"
    "                                  JAMCTL_TOKEN, or pass --token to the commands below)\n"
    "  steer PATH=VALUE ...            change fields; others keep their value\n"
    "  lock PATH ... | unlock PATH ... host: only the host may change these fields\n"
    "  watch [--count N]               the state, then every change and who made it\n"
    "  listen --out FILE [--seconds N] record the jam's audio (Opus, decoded) to a 16-bit 48 kHz\n"
    "                                  stereo WAV: N seconds (default 10), or until the jam ends\n"
    "  listen --jack [--connect] [--seconds N] [--client-name NAME] [--jack-server NAME]\n"
    "         [--buffer-packets N]     play the jam through JACK on NAME:out_L/out_R (default\n"
    "                                  jamctl), --connect: to the system playback ports; until\n"
    "                                  the jam ends, N seconds, or Ctrl-C; prints underruns\n"
    "  listen [--count N]              the jam's Opus packets, one line each\n"
    "  notes [--count N]               the heard and generated notes, one line each (also\n"
    "                                  listen --notes)\n"
    "  remove PARTICIPANT_ID           host: remove someone from the jam\n"
    "  leave | end                     leave the jam | host: end it for everyone\n"
    "  status                          jamd's version, health and counts\n"
    "\n"
    "options:\n"
    "  --server HOST:PORT  jamd's address (default 127.0.0.1:50051, or $JAMCTL_SERVER)\n"
    "  --token TOKEN       your participant token (default $JAMCTL_TOKEN)\n"
    "  --json              print responses and events as JSON, one object per line\n"
    "  --tls-ca FILE       connect with TLS, trusting this PEM certificate\n"
    "  --timeout-s N       give up on a call after N seconds (default 5; watch has none)\n"
    "\n"
    "steer paths:\n";

struct Options {
  std::string server = "127.0.0.1:50051";
  std::string token;
  std::string tls_ca;
  std::string name;
  bool json = false;
  bool notes = false;
  std::string out;
  double seconds = 10;
  bool seconds_given = false;
  bool jack = false;
  JackListenOptions jack_options;
  double tempo_bpm = 0;
  int count = -1;
  int timeout_s = 5;
  std::string command;
  std::vector<std::string> args;
};

int usage_error(const std::string& message) {
  std::fprintf(stderr, "jamctl: %s\n(jamctl --help lists commands and options)\n", message.c_str());
  return 2;
}

int call_failed(const grpc::Status& st, const Options& o) {
  std::fprintf(stderr, "jamctl: %s\n", explain_error(st, o.server).c_str());
  return 1;
}

std::unique_ptr<grpc::ClientContext> context(const Options& o) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(o.timeout_s));
  return ctx;
}

void print(const Options& o, const google::protobuf::Message& m, const std::string& human) {
  std::printf("%s\n", o.json ? to_json(m).c_str() : human.c_str());
  std::fflush(stdout);
}

int create(jam::v1::Jam::Stub& stub, const Options& o) {
  jam::v1::CreateJamRequest req;
  req.set_tempo_bpm(o.tempo_bpm);
  jam::v1::CreateJamResponse res;
  if (grpc::Status st = stub.CreateJam(context(o).get(), req, &res); !st.ok()) {
    return call_failed(st, o);
  }
  print(o, res,
        "jam " + res.jam_id() + " created\n  host token:     " + res.host_token() +
            "\n  player token:   " + res.player_token() + "\n  listener token: " +
            res.listener_token() + "\njoin with: jamctl join TOKEN --name YOUR_NAME");
  return 0;
}

int join(jam::v1::Jam::Stub& stub, const Options& o) {
  if (o.args.size() != 1) return usage_error("join needs exactly one JOIN_TOKEN");
  jam::v1::JoinJamRequest req;
  req.set_join_token(o.args[0]);
  req.set_display_name(o.name);
  jam::v1::JoinJamResponse res;
  if (grpc::Status st = stub.JoinJam(context(o).get(), req, &res); !st.ok()) {
    return call_failed(st, o);
  }
  print(o, res,
        "joined " + res.jam_id() + " as " + role_name(res.role()) + " " + res.participant_id() +
            (o.name.empty() ? "" : " (" + o.name + ")") + "\n  now: " +
            describe_state(res.state()) + "\n  your token: " + res.participant_token() +
            "\n  export JAMCTL_TOKEN=" + res.participant_token());
  return 0;
}

int steer(jam::v1::Jam::Stub& stub, const Options& o) {
  jam::v1::SteerRequest req;
  req.set_participant_token(o.token);
  if (std::string error = parse_steer_args(o.args, &req); !error.empty()) return usage_error(error);
  jam::v1::SteerResponse res;
  if (grpc::Status st = stub.Steer(context(o).get(), req, &res); !st.ok()) {
    return call_failed(st, o);
  }
  print(o, res, "#" + std::to_string(res.sequence()) + " " + describe_state(res.state()));
  return 0;
}

int lock(jam::v1::Jam::Stub& stub, const Options& o, bool locked) {
  if (o.args.empty()) return usage_error("lock/unlock needs at least one PATH, e.g. tempo_bpm");
  jam::v1::LockFieldsRequest req;
  req.set_participant_token(o.token);
  req.set_locked(locked);
  for (const std::string& p : o.args) req.mutable_paths()->add_paths(p);
  jam::v1::LockFieldsResponse res;
  if (grpc::Status st = stub.LockFields(context(o).get(), req, &res); !st.ok()) {
    return call_failed(st, o);
  }
  std::string human = "locked:";
  for (const std::string& p : res.locked_paths()) human += " " + p;
  if (res.locked_paths_size() == 0) human += " (nothing)";
  print(o, res, human);
  return 0;
}

std::string describe_packet(const jam::v1::AudioPacket& p) {
  return "packet #" + std::to_string(p.sequence()) + " at frame " +
         std::to_string(p.sample_time_frames()) + ": " + std::to_string(p.opus_packet().size()) +
         " bytes, " + std::to_string(p.frames_per_packet()) + " frames, " +
         std::to_string(p.n_channels()) + " ch, " + std::to_string(p.sample_rate_hz()) + " Hz";
}

std::string describe_note(const jam::v1::NoteEvent& n) {
  return std::string(n.source() == jam::v1::NOTE_SOURCE_HEARD ? "heard " : "played ") + n.part() +
         " pitch " + std::to_string(n.pitch()) + " vel " + std::to_string(n.velocity()) + " bar " +
         std::to_string(n.bar()) + " beat " + std::to_string(n.beat()) + " (frame " +
         std::to_string(n.onset_frames()) + ", " + std::to_string(n.duration_frames()) + " frames)";
}

// Reads a server stream to its end (or --count items), printing each item.
template <typename Item, typename Describe>
int read_stream(grpc::ClientContext& ctx, grpc::ClientReader<Item>& reader, const Options& o,
                Describe describe) {
  Item item;
  int n = 0;
  while ((o.count < 0 || n < o.count) && reader.Read(&item)) {
    print(o, item, describe(item));
    ++n;
  }
  if (o.count >= 0 && n >= o.count) {
    ctx.TryCancel();
    return 0;
  }
  grpc::Status st = reader.Finish();
  return st.ok() ? 0 : call_failed(st, o);
}

int record(jam::v1::Jam::Stub& stub, const Options& o) {
  const Recording r = record_wav(stub, o.token, o.out, o.seconds);
  if (!r.status.ok()) {
    if (r.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
      return usage_error(r.status.error_message());
    }
    return call_failed(r.status, o);
  }
  const double seconds_written = static_cast<double>(r.frames_written) / 48000.0;
  char line[512];
  if (o.json) {
    std::snprintf(line, sizeof line,
                  "{\"out\":\"%s\",\"seconds\":%.3f,\"packets\":%llu,\"packetsLost\":%llu,"
                  "\"peak\":%.4f,\"rms\":%.4f,\"jamEnded\":%s}",
                  o.out.c_str(), seconds_written, static_cast<unsigned long long>(r.packets),
                  static_cast<unsigned long long>(r.packets_lost), r.peak, r.rms,
                  r.ended ? "true" : "false");
  } else {
    std::snprintf(
        line, sizeof line,
        "wrote %.1f s to %s (%llu packets, %llu lost and concealed; peak %.2f, rms %.3f)%s",
        seconds_written, o.out.c_str(), static_cast<unsigned long long>(r.packets),
        static_cast<unsigned long long>(r.packets_lost), r.peak, r.rms,
        r.ended ? "; the jam ended" : "");
  }
  std::printf("%s\n", line);
  return 0;
}

int play_jack(jam::v1::Jam::Stub& stub, const Options& o) {
  JackListenOptions options = o.jack_options;
  options.seconds = o.seconds_given ? o.seconds : 0;
  const JackListening l = listen_jack(stub, o.token, options);
  if (!l.jack_error.empty()) {
    std::fprintf(stderr, "jamctl: %s\n", l.jack_error.c_str());
    return 1;
  }
  if (!l.status.ok()) return call_failed(l.status, o);
  const double seconds_played =
      l.sample_rate_hz > 0 ? static_cast<double>(l.frames_played) / l.sample_rate_hz : 0.0;
  char line[640];
  if (o.json) {
    std::snprintf(line, sizeof line,
                  "{\"client\":\"%s\",\"seconds\":%.3f,\"sampleRateHz\":%u,\"packets\":%llu,"
                  "\"packetsLost\":%llu,\"packetsDropped\":%llu,\"underruns\":%llu,"
                  "\"underrunFrames\":%llu,\"xruns\":%llu,\"peak\":%.4f,\"jamEnded\":%s,"
                  "\"interrupted\":%s}",
                  options.client_name.c_str(), seconds_played, l.sample_rate_hz,
                  static_cast<unsigned long long>(l.packets),
                  static_cast<unsigned long long>(l.packets_lost),
                  static_cast<unsigned long long>(l.packets_dropped),
                  static_cast<unsigned long long>(l.underruns),
                  static_cast<unsigned long long>(l.underrun_frames),
                  static_cast<unsigned long long>(l.xruns), l.peak, l.ended ? "true" : "false",
                  l.interrupted ? "true" : "false");
  } else {
    std::snprintf(line, sizeof line,
                  "played %.1f s on JACK client '%s' at %u Hz (%llu packets, %llu lost and "
                  "concealed, %llu skipped for latency; %llu underruns, %llu frames of silence; "
                  "%llu xruns; peak %.2f)%s",
                  seconds_played, options.client_name.c_str(), l.sample_rate_hz,
                  static_cast<unsigned long long>(l.packets),
                  static_cast<unsigned long long>(l.packets_lost),
                  static_cast<unsigned long long>(l.packets_dropped),
                  static_cast<unsigned long long>(l.underruns),
                  static_cast<unsigned long long>(l.underrun_frames),
                  static_cast<unsigned long long>(l.xruns), l.peak,
                  l.ended ? "; the jam ended" : (l.interrupted ? "; stopped" : ""));
  }
  std::printf("%s\n", line);
  return 0;
}

int listen(jam::v1::Jam::Stub& stub, const Options& o) {
  if (o.jack && !o.notes) {
    if (!o.out.empty()) return usage_error("listen takes --out FILE or --jack, not both");
    return play_jack(stub, o);
  }
  if (!o.out.empty() && !o.notes) return record(stub, o);
  grpc::ClientContext ctx;  // no deadline: a stream lasts as long as the jam
  if (o.notes) {
    jam::v1::ListenNotesRequest req;
    req.set_participant_token(o.token);
    auto reader = stub.ListenNotes(&ctx, req);
    return read_stream(ctx, *reader, o, describe_note);
  }
  jam::v1::ListenAudioRequest req;
  req.set_participant_token(o.token);
  auto reader = stub.ListenAudio(&ctx, req);
  return read_stream(ctx, *reader, o, describe_packet);
}

int watch(jam::v1::Jam::Stub& stub, const Options& o) {
  grpc::ClientContext ctx;  // no deadline: a watch lasts as long as the jam
  jam::v1::WatchJamRequest req;
  req.set_participant_token(o.token);
  auto reader = stub.WatchJam(&ctx, req);
  return read_stream(ctx, *reader, o, describe_event);
}

template <typename Request, typename Response, typename Call>
int simple(const Options& o, Request req, Call call, const std::string& done) {
  Response res;
  if (grpc::Status st = call(context(o).get(), req, &res); !st.ok()) return call_failed(st, o);
  print(o, res, done);
  return 0;
}

// grpc.health.v1.Health/Check for the whole server: "SERVING", "NOT_SERVING" or an error.
std::string health(const std::shared_ptr<grpc::Channel>& channel, const Options& o) {
  grpc::GenericStub generic(channel);
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  auto ctx = context(o);
  std::promise<grpc::Status> done;
  generic.UnaryCall(ctx.get(), "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                    &response, [&](grpc::Status st) { done.set_value(st); });
  if (!done.get_future().get().ok()) return "UNKNOWN";
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return "UNKNOWN";
  std::string bytes;
  for (const grpc::Slice& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes == std::string("\x08\x01", 2) ? "SERVING" : "NOT_SERVING";
}

int status(jam::v1::Jam::Stub& stub, const std::shared_ptr<grpc::Channel>& channel,
           const Options& o) {
  jam::v1::GetStatusResponse res;
  if (grpc::Status st = stub.GetStatus(context(o).get(), {}, &res); !st.ok()) {
    return call_failed(st, o);
  }
  print(o, res,
        "jamd " + res.version() + " at " + o.server + ": " + health(channel, o) +
            "\n  backend: " + res.backend() + "\n  jams " + std::to_string(res.n_jams()) +
            ", participants " + std::to_string(res.n_participants()) + ", watchers " +
            std::to_string(res.n_watchers()) + "\n  playing " +
            std::to_string(res.n_playing_jams()) + " jams, " +
            absl::StrFormat("%.1f", res.audio_seconds()) + " s of audio: xruns " +
            std::to_string(res.xruns()) + ", late notes " + std::to_string(res.late_events()) +
            " (dropped " + std::to_string(res.late_notes_dropped()) + "), unplanned " +
            absl::StrFormat("%.1f", res.unplanned_seconds()) + " s, mix frames lost " +
            std::to_string(res.mix_frames_lost()));
  return 0;
}

// Reads options anywhere on the line; the first other word is the command.
std::string parse(int argc, char** argv, Options* o) {
  if (const char* s = std::getenv("JAMCTL_SERVER")) o->server = s;
  if (const char* t = std::getenv("JAMCTL_TOKEN")) o->token = t;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--json") {
      o->json = true;
    } else if (a == "--notes") {
      o->notes = true;
    } else if (a == "--out" && has_value) {
      o->out = argv[++i];
    } else if (a == "--seconds" && has_value) {
      o->seconds = std::atof(argv[++i]);
      if (!(o->seconds > 0)) return "--seconds needs a positive number";
      o->seconds_given = true;
    } else if (a == "--jack") {
      o->jack = true;
    } else if (a == "--connect") {
      o->jack_options.auto_connect = true;
    } else if (a == "--client-name" && has_value) {
      o->jack_options.client_name = argv[++i];
    } else if (a == "--jack-server" && has_value) {
      o->jack_options.server_name = argv[++i];
    } else if (a == "--buffer-packets" && has_value) {
      o->jack_options.buffer_packets = std::atoi(argv[++i]);
      if (o->jack_options.buffer_packets < 1 || o->jack_options.buffer_packets > 50) {
        return "--buffer-packets needs 1..50 (10 ms packets)";
      }
    } else if (a == "--server" && has_value) {
      o->server = argv[++i];
    } else if (a == "--token" && has_value) {
      o->token = argv[++i];
    } else if (a == "--tls-ca" && has_value) {
      o->tls_ca = argv[++i];
    } else if (a == "--name" && has_value) {
      o->name = argv[++i];
    } else if (a == "--tempo" && has_value) {
      o->tempo_bpm = std::atof(argv[++i]);
    } else if (a == "--count" && has_value) {
      o->count = std::atoi(argv[++i]);
    } else if (a == "--timeout-s" && has_value) {
      o->timeout_s = std::max(1, std::atoi(argv[++i]));
    } else if (a.rfind("--", 0) == 0) {
      return "unknown or incomplete option '" + a + "'";
    } else if (o->command.empty()) {
      o->command = a;
    } else {
      o->args.push_back(a);
    }
  }
  return "";
}

std::shared_ptr<grpc::Channel> connect(const Options& o, std::string* error) {
  if (o.tls_ca.empty()) return grpc::CreateChannel(o.server, grpc::InsecureChannelCredentials());
  std::ifstream in(o.tls_ca);
  if (!in) {
    *error = "cannot read the TLS certificate '" + o.tls_ca + "'";
    return nullptr;
  }
  std::stringstream pem;
  pem << in.rdbuf();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = pem.str();
  return grpc::CreateChannel(o.server, grpc::SslCredentials(ssl));
}

}  // namespace

int run(int argc, char** argv) {
  Options o;
  if (std::string error = parse(argc, argv, &o); !error.empty()) return usage_error(error);
  if (o.command.empty() || o.command == "help" ||
      std::find(argv, argv + argc, std::string("--help")) != argv + argc) {
    std::printf("%s%s", kUsage, steer_paths_help().c_str());
    return o.command.empty() && argc < 2 ? 2 : 0;
  }
  std::string error;
  std::shared_ptr<grpc::Channel> channel = connect(o, &error);
  if (channel == nullptr) return usage_error(error);
  std::unique_ptr<jam::v1::Jam::Stub> stub = jam::v1::Jam::NewStub(channel);
  const std::string& c = o.command;
  const bool needs_token = c == "steer" || c == "lock" || c == "unlock" || c == "watch" ||
                           c == "listen" || c == "notes" || c == "remove" || c == "leave" ||
                           c == "end";
  if (needs_token && o.token.empty()) {
    return usage_error(c +
                       " needs your participant token: --token TOKEN or $JAMCTL_TOKEN "
                       "(jamctl join prints it)");
  }
  if (c == "create") return create(*stub, o);
  if (c == "join") return join(*stub, o);
  if (c == "steer") return steer(*stub, o);
  if (c == "lock" || c == "unlock") return lock(*stub, o, c == "lock");
  if (c == "watch") return watch(*stub, o);
  if (c == "listen") return listen(*stub, o);
  if (c == "notes") {
    Options notes = o;
    notes.notes = true;
    return listen(*stub, notes);
  }
  if (c == "status") return status(*stub, channel, o);
  if (c == "remove") {
    if (o.args.size() != 1) return usage_error("remove needs exactly one PARTICIPANT_ID");
    jam::v1::RemoveParticipantRequest req;
    req.set_participant_token(o.token);
    req.set_participant_id(o.args[0]);
    return simple<jam::v1::RemoveParticipantRequest, jam::v1::RemoveParticipantResponse>(
        o, req, [&](auto* ctx, auto& r, auto* res) { return stub->RemoveParticipant(ctx, r, res); },
        "removed " + o.args[0]);
  }
  if (c == "leave") {
    jam::v1::LeaveJamRequest req;
    req.set_participant_token(o.token);
    return simple<jam::v1::LeaveJamRequest, jam::v1::LeaveJamResponse>(
        o, req, [&](auto* ctx, auto& r, auto* res) { return stub->LeaveJam(ctx, r, res); }, "left");
  }
  if (c == "end") {
    jam::v1::EndJamRequest req;
    req.set_participant_token(o.token);
    return simple<jam::v1::EndJamRequest, jam::v1::EndJamResponse>(
        o, req, [&](auto* ctx, auto& r, auto* res) { return stub->EndJam(ctx, r, res); },
        "jam ended");
  }
  return usage_error("unknown command '" + c + "'");
}

}  // namespace jamctl

int main(int argc, char** argv) { return jamctl::run(argc, argv); }
