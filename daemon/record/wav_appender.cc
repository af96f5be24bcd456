// WavAppender: RIFF/WAVE header, appended 16-bit PCM, size patches with pwrite(2).
#include "daemon/record/wav_appender.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace jamd {
namespace {

constexpr uint32_t kHeaderBytes = 44;  // RIFF + fmt (16 bytes of PCM format) + data header
constexpr uint32_t kRiffSizeOffset = 4;
constexpr uint32_t kDataSizeOffset = 40;
// A WAV's sizes are 32-bit: past 4 GiB of samples the header stops growing (about 6 hours of
// 48 kHz stereo); the samples are still appended.
constexpr uint64_t kMaxDataBytes = 0xFFFFFFFFull - kHeaderBytes;

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

}  // namespace

absl::StatusOr<std::unique_ptr<WavAppender>> WavAppender::create(const std::string& path,
                                                                 uint32_t sample_rate_hz,
                                                                 uint16_t n_channels) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write '", path, "': ", std::strerror(errno)));
  }
  std::unique_ptr<WavAppender> wav(new WavAppender(path, fd, n_channels));
  uint8_t h[kHeaderBytes] = {};
  std::memcpy(h, "RIFF", 4);
  put_u32(h + kRiffSizeOffset, kHeaderBytes - 8);
  std::memcpy(h + 8, "WAVEfmt ", 8);
  put_u32(h + 16, 16);  // fmt chunk size
  put_u16(h + 20, 1);   // PCM
  put_u16(h + 22, n_channels);
  put_u32(h + 24, sample_rate_hz);
  put_u32(h + 28, sample_rate_hz * n_channels * 2u);       // bytes per second
  put_u16(h + 32, static_cast<uint16_t>(n_channels * 2));  // bytes per frame
  put_u16(h + 34, 16);                                     // bits per sample
  std::memcpy(h + 36, "data", 4);
  put_u32(h + kDataSizeOffset, 0);
  if (absl::Status s = wav->write_all(h, sizeof h); !s.ok()) return s;
  return wav;
}

WavAppender::~WavAppender() {
  if (fd_ >= 0) {
    (void)commit();
    ::close(fd_);
  }
}

absl::Status WavAppender::write_all(const void* data, size_t n_bytes) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n_bytes > 0) {
    const ssize_t n = ::write(fd_, p, n_bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::DataLossError(absl::StrCat("writing '", path_, "': ", std::strerror(errno)));
    }
    p += n;
    n_bytes -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status WavAppender::append(std::span<const float> interleaved) {
  pcm_.resize(interleaved.size());
  for (size_t i = 0; i < interleaved.size(); ++i) {
    const float s = std::clamp(interleaved[i], -1.0f, 1.0f);
    pcm_[i] = static_cast<int16_t>(std::lround(s * 32767.0f));
  }
  frames_ += interleaved.size() / n_channels_;
  return write_all(pcm_.data(), pcm_.size() * sizeof(int16_t));
}

absl::Status WavAppender::append_silence(uint64_t n_frames) {
  const std::vector<float> zeros(static_cast<size_t>(std::min<uint64_t>(n_frames, 48000)) *
                                 n_channels_);
  while (n_frames > 0) {
    const uint64_t n = std::min<uint64_t>(n_frames, zeros.size() / n_channels_);
    if (absl::Status s = append(std::span(zeros).first(n * n_channels_)); !s.ok()) return s;
    n_frames -= n;
  }
  return absl::OkStatus();
}

absl::Status WavAppender::commit() {
  if (frames_ == committed_frames_) return absl::OkStatus();
  const uint64_t data_bytes = std::min<uint64_t>(frames_ * n_channels_ * 2, kMaxDataBytes);
  uint8_t size[4];
  put_u32(size, static_cast<uint32_t>(data_bytes));
  uint8_t riff[4];
  put_u32(riff, static_cast<uint32_t>(data_bytes + kHeaderBytes - 8));
  if (::pwrite(fd_, size, 4, kDataSizeOffset) != 4 ||
      ::pwrite(fd_, riff, 4, kRiffSizeOffset) != 4) {
    return absl::DataLossError(absl::StrCat("writing '", path_, "': ", std::strerror(errno)));
  }
  committed_frames_ = frames_;
  return absl::OkStatus();
}

}  // namespace jamd
