// SpscRing: a bounded, lock-free, single-producer single-consumer queue of trivially copyable
// items. The command queues between the control threads and the RT thread are made of it.
//
//   SpscRing<Command> queue(1024);          // capacity rounded up to a power of two; allocates
//   queue.try_push(cmd);                    // producer thread; false when full
//   Command c; while (queue.try_pop(c)) {}  // consumer thread (e.g. rt); false when empty
//
// Thread safety: exactly one producer thread calls try_push()/free_slots(), exactly one consumer
// thread calls try_pop()/peek()/size(); both are wait-free and never allocate. Construction and
// destruction happen while neither side runs.
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>

namespace jamd::realtime {

// 64 bytes: the cache line on x86-64 and most ARM64 cores; keeps the two cursors from sharing
// one (std::hardware_destructive_interference_size warns under GCC's -Winterference-size).
inline constexpr size_t kCacheLineBytes = 64;

inline constexpr size_t round_up_to_power_of_two(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

template <typename T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>, "SpscRing carries trivially copyable items");

 public:
  explicit SpscRing(size_t min_capacity)
      : capacity_(round_up_to_power_of_two(min_capacity < 2 ? 2 : min_capacity)),
        mask_(capacity_ - 1),
        slots_(std::make_unique<T[]>(capacity_)) {}

  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  size_t capacity() const { return capacity_; }

  bool try_push(const T& item) {  // thread: producer
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_cache_ >= capacity_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail - head_cache_ >= capacity_) return false;
    }
    slots_[tail & mask_] = item;
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  bool try_pop(T& out) {  // thread: consumer
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_cache_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head == tail_cache_) return false;
    }
    out = slots_[head & mask_];
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // The next item without removing it, or nullptr when empty.
  const T* peek() {  // thread: consumer
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_cache_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head == tail_cache_) return nullptr;
    }
    return &slots_[head & mask_];
  }

  // Items queued, as seen from the calling side (exact for the consumer, a lower bound of free
  // space for the producer).
  size_t size() const {  // thread: any (a snapshot)
    const uint64_t head = head_.load(std::memory_order_acquire);
    const uint64_t tail = tail_.load(std::memory_order_acquire);
    return static_cast<size_t>(tail - head);
  }
  size_t free_slots() const { return capacity_ - size(); }  // thread: any (a snapshot)

 private:
  const size_t capacity_;
  const size_t mask_;
  std::unique_ptr<T[]> slots_;
  // Cursors count items ever pushed / popped; 64 bits never wrap in practice.
  alignas(kCacheLineBytes) std::atomic<uint64_t> head_{0};  // written by the consumer
  uint64_t tail_cache_ = 0;                                 // consumer's view of tail_
  alignas(kCacheLineBytes) std::atomic<uint64_t> tail_{0};  // written by the producer
  uint64_t head_cache_ = 0;                                 // producer's view of head_
};

}  // namespace jamd::realtime
