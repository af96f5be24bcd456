// MidiInRing: the single-producer single-consumer ring that carries MIDI in, stamped with
// absolute sample times, from the RT thread to the rest of the daemon without locks.
//
//   MidiInRing ring(4096);                       // control thread: allocates once
//   ring.push({.frame = 480, .message = m});     // RT thread: false (and nothing kept) when full
//   TimedMidiMessage got[64];
//   size_t n = ring.pop(got);                    // consumer thread
//
// Thread safety: push() from one producer thread, pop() from one consumer thread, size() and
// capacity() from any; construction and destruction while neither runs.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "realtime/io/audio_io.h"

namespace jamd::realtime {

// A MIDI message at an absolute frame of the I/O's sample clock (ProcessBlock::first_frame's).
struct TimedMidiMessage {
  uint64_t frame = 0;
  MidiMessage message;  // message.frame keeps the offset inside its period
};

class MidiInRing {
 public:
  // Rounds capacity up to a power of two so that the cursors wrap with a mask.
  explicit MidiInRing(size_t capacity_messages)
      : capacity_(std::bit_ceil(capacity_messages < 2 ? size_t{2} : capacity_messages)),
        slots_(std::make_unique<TimedMidiMessage[]>(capacity_)) {}
  MidiInRing(const MidiInRing&) = delete;
  MidiInRing& operator=(const MidiInRing&) = delete;

  // thread: producer (rt). Never allocates or blocks.
  bool push(const TimedMidiMessage& m) {
    const uint64_t write = write_.load(std::memory_order_relaxed);
    if (write - read_.load(std::memory_order_acquire) >= capacity_) return false;
    slots_[write & (capacity_ - 1)] = m;
    write_.store(write + 1, std::memory_order_release);
    return true;
  }

  // thread: consumer. Returns how many messages were moved into out, oldest first.
  size_t pop(std::span<TimedMidiMessage> out) {
    const uint64_t read = read_.load(std::memory_order_relaxed);
    const uint64_t available = write_.load(std::memory_order_acquire) - read;
    const size_t n = available < out.size() ? static_cast<size_t>(available) : out.size();
    for (size_t i = 0; i < n; ++i) out[i] = slots_[(read + i) & (capacity_ - 1)];
    read_.store(read + n, std::memory_order_release);
    return n;
  }

  // thread: any. A snapshot: exact only when neither side is running.
  size_t size() const {
    return static_cast<size_t>(write_.load(std::memory_order_acquire) -
                               read_.load(std::memory_order_acquire));
  }
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  std::unique_ptr<TimedMidiMessage[]> slots_;
  // Separate cache lines so the producer and the consumer do not bounce one line between cores.
  alignas(64) std::atomic<uint64_t> write_{0};
  alignas(64) std::atomic<uint64_t> read_{0};
};

}  // namespace jamd::realtime
