// jamctl listen --jack: plays a jam's ListenAudio stream through JACK. The gRPC reader (the
// caller's thread) decodes the Opus packets and writes them into a lock-free ring; the JACK
// callback (realtime/jack's JackIo, ports jamctl:out_L/out_R) plays from that ring once it holds
// the jitter buffer, and plays silence (counted) when the ring runs dry, until the buffer refills.
//
//   JackListenOptions options;                       // client "jamctl", the default server
//   options.auto_connect = true;                     // to system:playback_1/2 when present
//   JackListening l = listen_jack(*stub, token, options);
//   if (!l.jack_error.empty()) ...;                  // no JACK server, name taken: one line
//   else if (!l.status.ok()) ...;                    // the stream's error (bad token, ...)
//
// Ctrl-C (SIGINT) or SIGTERM ends it cleanly: the stream is cancelled, the client closed.
// Thread safety: a blocking call on the caller's thread; one at a time per process (it installs
// the signal handlers for its duration).
#pragma once

#include <grpcpp/support/status.h>

#include <cstdint>
#include <string>

#include "jam/v1/jam.grpc.pb.h"

namespace jamctl {

struct JackListenOptions {
  std::string client_name = "jamctl";
  std::string server_name;    // empty: the default server ($JACK_DEFAULT_SERVER)
  bool auto_connect = false;  // out_L/out_R to the first two physical playback ports
  double seconds = 0;         // stop after this much of the stream; 0: until the jam ends
  // The jitter buffer: the ring holds this many 10 ms packets before playback (re)starts. Four
  // absorb the delivery jitter measured on loopback under load (docs/api.md) at 40 ms latency.
  int buffer_packets = 4;
};

struct JackListening {
  std::string jack_error;  // JACK could not be used; nothing was played
  grpc::Status status;     // the stream's end
  uint32_t sample_rate_hz = 0;
  uint64_t packets = 0;          // decoded from the stream
  uint64_t packets_lost = 0;     // gaps in the sequence, concealed
  uint64_t packets_dropped = 0;  // skipped to bring the latency back (clock drift, bursts)
  uint64_t underruns = 0;        // periods the ring ran dry in (played silence)
  uint64_t underrun_frames = 0;  // silence played in those periods
  uint64_t frames_played = 0;    // from the stream, at sample_rate_hz
  uint64_t xruns = 0;            // reported by the JACK server for this client
  double peak = 0;               // the loudest sample played, 0..1
  bool ended = false;            // the jam ended
  bool interrupted = false;      // SIGINT or SIGTERM
};

JackListening listen_jack(jam::v1::Jam::Stub& stub, const std::string& participant_token,
                          const JackListenOptions& options);

}  // namespace jamctl
