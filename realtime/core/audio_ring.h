// AudioRing: a lock-free single-producer single-consumer ring of interleaved float frames, the
// tap between the RT thread and the threads that stream or analyse audio.
//
//   AudioRing tap(48000, 2);                      // about 1 s of stereo; allocates here only
//   tap.write_planar({left, right}, n_frames);    // thread: rt (producer); drops what won't fit
//   size_t got = tap.read_interleaved(out, 960);  // consumer thread; frames actually read
//   tap.overrun_frames(); tap.underrun_frames();  // counted losses, readable anywhere
//
// Thread safety: one producer thread writes, one consumer thread reads; both are wait-free and
// never allocate. A full ring drops the newest frames and counts them (the RT thread never
// waits); a read that finds fewer frames than asked returns what there is and counts the rest.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "realtime/core/spsc_ring.h"

namespace jamd::realtime {

class AudioRing {
 public:
  // Capacity is rounded up to a power of two frames.
  AudioRing(size_t min_capacity_frames, uint32_t n_channels);

  AudioRing(const AudioRing&) = delete;
  AudioRing& operator=(const AudioRing&) = delete;

  size_t capacity_frames() const { return capacity_frames_; }
  uint32_t n_channels() const { return n_channels_; }

  // Writes n_frames from one span per channel (channels.size() == n_channels()). Returns the
  // frames written; the rest are counted in overrun_frames().
  size_t write_planar(std::span<const std::span<const float>> channels,
                      size_t n_frames);  // thread: producer
  // Writes n_frames interleaved frames. Returns the frames written.
  size_t write_interleaved(std::span<const float> frames);  // thread: producer

  // Reads up to out.size() / n_channels() interleaved frames. Returns the frames read; a short
  // read counts the missing frames in underrun_frames().
  size_t read_interleaved(std::span<float> out);  // thread: consumer
  // Frames ready to read.
  size_t fill_frames() const;  // thread: any (a snapshot)

  uint64_t overrun_frames() const { return overrun_frames_.load(std::memory_order_relaxed); }
  uint64_t underrun_frames() const { return underrun_frames_.load(std::memory_order_relaxed); }

 private:
  size_t free_frames_for_writer() const;

  const size_t capacity_frames_;
  const size_t mask_;
  const uint32_t n_channels_;
  std::unique_ptr<float[]> samples_;
  alignas(kCacheLineBytes) std::atomic<uint64_t> read_frame_{0};
  alignas(kCacheLineBytes) std::atomic<uint64_t> write_frame_{0};
  alignas(kCacheLineBytes) std::atomic<uint64_t> overrun_frames_{0};
  std::atomic<uint64_t> underrun_frames_{0};
};

}  // namespace jamd::realtime
