// jamctl listen --out FILE: reads a jam's ListenAudio stream, decodes the Opus packets and
// writes a 16-bit stereo 48 kHz WAV. Lost packets (a gap in AudioPacket.sequence, because this
// client fell behind) are concealed by Opus's packet-loss concealment, so the file keeps the
// jam's timing.
//
//   jamctl::Recording r = jamctl::record_wav(*stub, token, "jam.wav", /*seconds=*/10);
//   if (!r.status.ok()) ...;  // the stream's error (bad token, no such jam, ...)
//
// Thread safety: a blocking call on the caller's thread.
#pragma once

#include <grpcpp/support/status.h>

#include <cstdint>
#include <string>

#include "jam/v1/jam.grpc.pb.h"

namespace jamctl {

struct Recording {
  grpc::Status status;
  uint64_t packets = 0;         // decoded from the stream
  uint64_t packets_lost = 0;    // gaps in the sequence, concealed
  uint64_t frames_written = 0;  // at 48 kHz
  double peak = 0;              // the loudest sample, 0..1
  double rms = 0;               // over the whole file
  bool ended = false;           // the jam ended before `seconds` were written
};

// Records until `seconds` of audio are written or the stream ends. A file that cannot be
// written is an INVALID_ARGUMENT status naming it.
Recording record_wav(jam::v1::Jam::Stub& stub, const std::string& participant_token,
                     const std::string& path, double seconds);

}  // namespace jamctl
