// The virtual-clock backend of the AudioIo seam: a thread that runs the same ProcessCallback as
// JACK, paced in real time (for remote-only jams and tests) or as fast as possible; and the
// offline renderer that drives a callback period by period into a WAV file.
//
//   auto io = make_virtual_io({.sample_rate_hz = 48000, .period_frames = 64});
//   io->start(&band);   ...   io->stop();
//
//   absl::StatusOr<OfflineRenderStats> stats = render_offline(
//       {.wav_path = "out/demo.wav", .total_frames = 48000 * 10}, band,
//       [&](uint64_t first_frame) { feeder.feed(scheduler, first_frame + horizon); });
//
// Thread safety: start() / stop() from one control thread; the callback runs on the virtual
// clock's thread; counters() and frames_processed() from any thread. render_offline() runs the
// callback on the calling thread and returns when the file is written.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "realtime/io/audio_io.h"

namespace jamd::realtime {

// MIDI out messages one period may carry; more are refused and counted.
inline constexpr size_t kVirtualMidiOutPerPeriod = 1024;

struct VirtualIoOptions {
  uint32_t sample_rate_hz = 48000;
  uint32_t period_frames = 256;
  bool real_time = true;  // false: as fast as possible
  // SCHED_FIFO priority for the clock thread (1..99, as JACK gives its RT thread); 0 keeps
  // normal scheduling. Best effort: see VirtualIo::got_rt_priority().
  int rt_priority = 0;
  // Optional, on the clock thread before each period (e.g. feed a scheduler in lockstep when
  // running as fast as possible). Not real-time safe work belongs here only when !real_time.
  std::function<void(uint64_t first_frame)> before_period{};
};

class VirtualIo : public AudioIo {
 public:
  explicit VirtualIo(const VirtualIoOptions& options);
  ~VirtualIo() override;

  absl::Status start(ProcessCallback* callback) override;  // thread: control
  void stop() override;                                    // thread: control
  uint32_t sample_rate_hz() const override { return options_.sample_rate_hz; }
  uint32_t max_period_frames() const override { return options_.period_frames; }
  const IoCounters& counters() const override { return counters_; }

  uint64_t frames_processed() const { return frames_.load(std::memory_order_acquire); }
  uint64_t midi_out_messages() const { return midi_out_messages_.load(std::memory_order_relaxed); }
  // Whether the clock thread got the SCHED_FIFO priority asked for (needs CAP_SYS_NICE or an
  // rtprio limit, as for JACK). thread: any
  bool got_rt_priority() const { return got_rt_priority_.load(std::memory_order_acquire); }

 private:
  class PeriodMidiOut;
  void run(ProcessCallback* callback);

  VirtualIoOptions options_;
  IoCounters counters_;
  std::vector<float> in_[2];
  std::vector<float> out_[2];
  std::unique_ptr<PeriodMidiOut> midi_out_;
  std::atomic<bool> running_{false};
  std::atomic<uint64_t> frames_{0};
  std::atomic<uint64_t> midi_out_messages_{0};
  std::atomic<bool> got_rt_priority_{false};
  std::thread thread_;
};

std::unique_ptr<VirtualIo> make_virtual_io(const VirtualIoOptions& options);

struct OfflineRenderOptions {
  std::string wav_path;  // written as 16-bit PCM stereo WAV
  uint32_t sample_rate_hz = 48000;
  uint32_t period_frames = 256;
  uint64_t total_frames = 0;
};

struct OfflineRenderStats {
  uint64_t frames = 0;
  double wall_seconds = 0.0;
  double speed_x_real_time = 0.0;  // audio seconds per wall second
  uint64_t midi_out_messages = 0;
};

// Opens the WAV first (an unwritable path fails before any work), then runs before_period and
// callback.process() for every period and writes the audio. Errors name the path and the fix.
absl::StatusOr<OfflineRenderStats> render_offline(
    const OfflineRenderOptions& options, ProcessCallback& callback,
    const std::function<void(uint64_t first_frame)>& before_period);

}  // namespace jamd::realtime
