// WavAppender: a 16-bit PCM WAV file written incrementally so that it stays readable while it
// grows and after a crash. Samples are appended with write(2) as they come (the kernel has them
// even if the process is killed); commit() patches the RIFF and data chunk sizes in the header,
// so a reader sees everything up to the last commit. The recorder commits every second.
//
//   absl::StatusOr<std::unique_ptr<WavAppender>> wav = WavAppender::create("mix.wav", 48000, 2);
//   (*wav)->append(interleaved);   // floats in [-1, 1], clamped
//   (*wav)->commit();              // header now covers every frame appended
//
// Thread safety: one thread owns a WavAppender.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace jamd {

class WavAppender {
 public:
  // Creates (truncates) the file and writes a header for zero frames. The error names the path.
  static absl::StatusOr<std::unique_ptr<WavAppender>> create(const std::string& path,
                                                             uint32_t sample_rate_hz,
                                                             uint16_t n_channels);
  ~WavAppender();  // commits and closes
  WavAppender(const WavAppender&) = delete;
  WavAppender& operator=(const WavAppender&) = delete;

  absl::Status append(std::span<const float> interleaved);
  absl::Status append_silence(uint64_t n_frames);
  // Patches the header's sizes to cover every frame appended so far.
  absl::Status commit();

  uint64_t frames() const { return frames_; }
  const std::string& path() const { return path_; }

 private:
  WavAppender(std::string path, int fd, uint16_t n_channels)
      : path_(std::move(path)), fd_(fd), n_channels_(n_channels) {}
  absl::Status write_all(const void* data, size_t n_bytes);

  std::string path_;
  int fd_ = -1;
  uint16_t n_channels_ = 2;
  uint64_t frames_ = 0;
  uint64_t committed_frames_ = 0;
  std::vector<int16_t> pcm_;
};

}  // namespace jamd
