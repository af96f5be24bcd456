// VirtualIo: the virtual clock's thread and pacing; render_offline: the same callback, period by
// period, into a WAV file through libsndfile.
#include "realtime/io/virtual_io.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "realtime/core/c_handles.h"

namespace jamd::realtime {

// Collects one period's MIDI out in a preallocated array; cleared at each period's start.
class VirtualIo::PeriodMidiOut : public MidiOut {
 public:
  void clear() { n_ = 0; }                           // thread: rt
  bool write(const MidiMessage& message) override {  // thread: rt
    if (n_ == kVirtualMidiOutPerPeriod) return false;
    messages_[n_++] = message;
    return true;
  }
  size_t size() const { return n_; }

 private:
  MidiMessage messages_[kVirtualMidiOutPerPeriod];
  size_t n_ = 0;
};

VirtualIo::VirtualIo(const VirtualIoOptions& options)
    : options_(options), midi_out_(std::make_unique<PeriodMidiOut>()) {
  for (int c = 0; c < 2; ++c) {
    in_[c].assign(options_.period_frames, 0.0f);
    out_[c].assign(options_.period_frames, 0.0f);
  }
}

VirtualIo::~VirtualIo() { stop(); }

absl::Status VirtualIo::start(ProcessCallback* callback) {
  if (callback == nullptr) return absl::InvalidArgumentError("VirtualIo::start: no callback");
  if (running_.exchange(true)) {
    return absl::FailedPreconditionError("VirtualIo::start: already running; stop() it first");
  }
  thread_ = std::thread([this, callback] { run(callback); });
  if (options_.rt_priority > 0) {
    sched_param param{};
    param.sched_priority = options_.rt_priority;
    got_rt_priority_.store(pthread_setschedparam(thread_.native_handle(), SCHED_FIFO, &param) == 0,
                           std::memory_order_release);
  }
  return absl::OkStatus();
}

void VirtualIo::stop() {
  running_.store(false, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
}

void VirtualIo::run(ProcessCallback* callback) {
  pthread_setname_np(pthread_self(), "virtual-clock");  // names for top, perf and benchmarks
  using Clock = std::chrono::steady_clock;
  const uint32_t n = options_.period_frames;
  const auto period =
      std::chrono::nanoseconds(static_cast<int64_t>(1e9 * n / options_.sample_rate_hz));
  auto deadline = Clock::now();
  ProcessBlock block;
  block.n_frames = n;
  for (int c = 0; c < 2; ++c) {
    block.audio_in[c] = std::span<const float>(in_[c]);
    block.audio_out[c] = std::span<float>(out_[c]);
  }
  block.midi_out = midi_out_.get();
  uint64_t first_frame = frames_.load(std::memory_order_relaxed);
  while (running_.load(std::memory_order_acquire)) {
    if (options_.before_period) options_.before_period(first_frame);
    block.first_frame = first_frame;
    midi_out_->clear();
    callback->process(block);
    midi_out_messages_.fetch_add(midi_out_->size(), std::memory_order_relaxed);
    counters_.periods.fetch_add(1, std::memory_order_relaxed);
    first_frame += n;
    frames_.store(first_frame, std::memory_order_release);
    if (!options_.real_time) continue;
    deadline += period;
    const auto now = Clock::now();
    if (now > deadline + period) {
      // More than a period behind: the output would have glitched. Count it and catch up.
      counters_.xruns.fetch_add(1, std::memory_order_relaxed);
      deadline = now;
    } else {
      std::this_thread::sleep_until(deadline);
    }
  }
}

std::unique_ptr<VirtualIo> make_virtual_io(const VirtualIoOptions& options) {
  return std::make_unique<VirtualIo>(options);
}

namespace {

// Frames buffered between libsndfile writes: large writes keep the render loop tight.
constexpr uint32_t kWavChunkFrames = 16384;

class RecordingMidiOut : public MidiOut {
 public:
  bool write(const MidiMessage&) override {
    ++count_;
    return true;
  }
  uint64_t count() const { return count_; }

 private:
  uint64_t count_ = 0;
};

absl::StatusOr<SndFilePtr> open_wav(const OfflineRenderOptions& options) {
  SF_INFO info{};
  info.samplerate = static_cast<int>(options.sample_rate_hz);
  info.channels = 2;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  // open(2) first: its errno says plainly why a path is unwritable.
  const int fd = ::open(options.wav_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write '", options.wav_path, "': ", std::strerror(errno),
                     "; choose a writable path (an existing folder) for the WAV file"));
  }
  ::close(fd);
  SndFilePtr file(sf_open(options.wav_path.c_str(), SFM_WRITE, &info));
  if (!file) {
    return absl::PermissionDeniedError(absl::StrCat("cannot write '", options.wav_path,
                                                    "' as WAV: ", sf_strerror(nullptr),
                                                    "; choose a writable path for the WAV file"));
  }
  // Clip instead of wrapping around when a loud passage exceeds full scale.
  sf_command(file.get(), SFC_SET_CLIPPING, nullptr, SF_TRUE);
  return file;
}

}  // namespace

absl::StatusOr<OfflineRenderStats> render_offline(
    const OfflineRenderOptions& options, ProcessCallback& callback,
    const std::function<void(uint64_t first_frame)>& before_period) {
  if (options.period_frames == 0 || options.period_frames > kWavChunkFrames) {
    return absl::InvalidArgumentError(
        absl::StrCat("period of ", options.period_frames, " frames: use 1..", kWavChunkFrames));
  }
  absl::StatusOr<SndFilePtr> file = open_wav(options);
  if (!file.ok()) return file.status();
  const uint32_t period = options.period_frames;
  std::vector<float> left(period), right(period), silence(period, 0.0f);
  std::vector<float> chunk(static_cast<size_t>(kWavChunkFrames) * 2);
  size_t chunk_frames = 0;
  RecordingMidiOut midi_out;
  ProcessBlock block;
  block.audio_in[0] = silence;
  block.audio_in[1] = silence;
  block.audio_out[0] = left;
  block.audio_out[1] = right;
  block.midi_out = &midi_out;

  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t first = 0; first < options.total_frames; first += period) {
    if (before_period) before_period(first);
    block.first_frame = first;
    block.n_frames = period;
    callback.process(block);
    const auto keep =
        static_cast<uint32_t>(std::min<uint64_t>(period, options.total_frames - first));
    for (uint32_t i = 0; i < keep; ++i) {
      if (chunk_frames == kWavChunkFrames) {
        if (sf_writef_float(file->get(), chunk.data(), chunk_frames) !=
            static_cast<sf_count_t>(chunk_frames)) {
          return absl::DataLossError(absl::StrCat("writing '", options.wav_path,
                                                  "' failed: ", sf_strerror(file->get()),
                                                  " (is the disk full?)"));
        }
        chunk_frames = 0;
      }
      chunk[chunk_frames * 2] = left[i];
      chunk[chunk_frames * 2 + 1] = right[i];
      ++chunk_frames;
    }
  }
  if (chunk_frames > 0 && sf_writef_float(file->get(), chunk.data(), chunk_frames) !=
                              static_cast<sf_count_t>(chunk_frames)) {
    return absl::DataLossError(absl::StrCat("writing '", options.wav_path, "' failed: ",
                                            sf_strerror(file->get()), " (is the disk full?)"));
  }
  file->reset();  // closes and finishes the header before the clock stops
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  OfflineRenderStats stats;
  stats.frames = options.total_frames;
  stats.wall_seconds = wall;
  stats.speed_x_real_time =
      wall > 0.0 ? static_cast<double>(options.total_frames) / options.sample_rate_hz / wall : 0.0;
  stats.midi_out_messages = midi_out.count();
  return stats;
}

}  // namespace jamd::realtime
