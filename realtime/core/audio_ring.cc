// AudioRing: interleaved float frames between one producer and one consumer, lock-free.
#include "realtime/core/audio_ring.h"

#include <algorithm>
#include <cassert>

namespace jamd::realtime {

AudioRing::AudioRing(size_t min_capacity_frames, uint32_t n_channels)
    : capacity_frames_(round_up_to_power_of_two(std::max<size_t>(min_capacity_frames, 2))),
      mask_(capacity_frames_ - 1),
      n_channels_(n_channels),
      samples_(std::make_unique<float[]>(capacity_frames_ * n_channels)) {
  assert(n_channels > 0);
}

size_t AudioRing::free_frames_for_writer() const {
  const uint64_t read = read_frame_.load(std::memory_order_acquire);
  const uint64_t write = write_frame_.load(std::memory_order_relaxed);
  return capacity_frames_ - static_cast<size_t>(write - read);
}

size_t AudioRing::write_planar(std::span<const std::span<const float>> channels, size_t n_frames) {
  assert(channels.size() == n_channels_);
  const size_t n_write = std::min(n_frames, free_frames_for_writer());
  const uint64_t write = write_frame_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < n_write; ++i) {
    float* frame = &samples_[((write + i) & mask_) * n_channels_];
    for (uint32_t c = 0; c < n_channels_; ++c) frame[c] = channels[c][i];
  }
  write_frame_.store(write + n_write, std::memory_order_release);
  if (n_write < n_frames) overrun_frames_.fetch_add(n_frames - n_write, std::memory_order_relaxed);
  return n_write;
}

size_t AudioRing::write_interleaved(std::span<const float> frames) {
  const size_t n_frames = frames.size() / n_channels_;
  const size_t n_write = std::min(n_frames, free_frames_for_writer());
  const uint64_t write = write_frame_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < n_write; ++i) {
    float* frame = &samples_[((write + i) & mask_) * n_channels_];
    for (uint32_t c = 0; c < n_channels_; ++c) frame[c] = frames[i * n_channels_ + c];
  }
  write_frame_.store(write + n_write, std::memory_order_release);
  if (n_write < n_frames) overrun_frames_.fetch_add(n_frames - n_write, std::memory_order_relaxed);
  return n_write;
}

size_t AudioRing::read_interleaved(std::span<float> out) {
  const size_t n_frames = out.size() / n_channels_;
  const uint64_t read = read_frame_.load(std::memory_order_relaxed);
  const uint64_t write = write_frame_.load(std::memory_order_acquire);
  const size_t n_read = std::min(n_frames, static_cast<size_t>(write - read));
  for (size_t i = 0; i < n_read; ++i) {
    const float* frame = &samples_[((read + i) & mask_) * n_channels_];
    for (uint32_t c = 0; c < n_channels_; ++c) out[i * n_channels_ + c] = frame[c];
  }
  read_frame_.store(read + n_read, std::memory_order_release);
  if (n_read < n_frames) {
    underrun_frames_.fetch_add(n_frames - n_read, std::memory_order_relaxed);
  }
  return n_read;
}

size_t AudioRing::fill_frames() const {
  const uint64_t write = write_frame_.load(std::memory_order_acquire);
  const uint64_t read = read_frame_.load(std::memory_order_acquire);
  return static_cast<size_t>(write - read);
}

}  // namespace jamd::realtime
