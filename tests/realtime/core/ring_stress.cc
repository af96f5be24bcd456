// Two-thread stress runs of SpscRing, AudioRing and the Scheduler's queue (see ring_stress.h).
#include "tests/realtime/core/ring_stress.h"

#include <thread>
#include <vector>

#include "realtime/core/audio_ring.h"
#include "realtime/core/scheduler.h"
#include "realtime/core/spsc_ring.h"

namespace jamd::realtime {

bool stress_spsc_ring(uint64_t n_items) {
  struct Item {
    uint64_t seq;
    uint64_t check;
  };
  SpscRing<Item> ring(64);
  std::thread producer([&] {
    for (uint64_t i = 0; i < n_items;) {
      if (ring.try_push({i, ~i})) {
        ++i;
      } else {
        std::this_thread::yield();
      }
    }
  });
  bool ok = true;
  Item item{};
  for (uint64_t expected = 0; expected < n_items;) {
    if (!ring.try_pop(item)) {
      std::this_thread::yield();
      continue;
    }
    ok = ok && item.seq == expected && item.check == ~expected;
    ++expected;
  }
  producer.join();
  return ok;
}

bool stress_audio_ring(uint64_t n_frames) {
  AudioRing ring(256, 2);
  std::thread producer([&] {
    std::vector<float> frames(2 * 37);
    for (uint64_t next = 0; next < n_frames;) {
      const uint64_t n = std::min<uint64_t>(37, n_frames - next);
      for (uint64_t i = 0; i < n; ++i) {
        frames[2 * i] = static_cast<float>((next + i) % 65536);
        frames[2 * i + 1] = -frames[2 * i];
      }
      next += ring.write_interleaved(std::span<const float>(frames.data(), 2 * n));
      std::this_thread::yield();
    }
  });
  bool ok = true;
  std::vector<float> out(2 * 64);
  for (uint64_t got = 0; got < n_frames;) {
    const size_t n = ring.read_interleaved(out);
    for (size_t i = 0; i < n; ++i) {
      const auto want = static_cast<float>((got + i) % 65536);
      ok = ok && out[2 * i] == want && out[2 * i + 1] == -want;
    }
    got += n;
    if (n == 0) std::this_thread::yield();
  }
  producer.join();
  return ok;
}

bool stress_scheduler(int n_notes) {
  // 480 ticks per quarter at 120 BPM and 48 kHz: 50 frames per tick. One note per 2 ticks.
  // The store holds every note, so the only way to lose one would be the queue itself.
  Scheduler sched({.sample_rate_hz = 48000,
                   .ticks_per_quarter = 480,
                   .max_events = static_cast<size_t>(n_notes),
                   .command_queue_size = 64});
  std::thread producer([&] {
    for (int i = 0; i < n_notes;) {
      if (sched.free_command_slots() > 0 && sched.note_on(2 * i, i % 16, i % 128, 100)) {
        ++i;
      } else {
        std::this_thread::yield();
      }
    }
  });
  bool ok = true;
  uint64_t played = 0;
  const auto end_frame = static_cast<uint64_t>(n_notes) * 100;
  auto lost = [&] { return sched.counters().events_overflowed.load(); };
  for (uint64_t first = 0; played + lost() < static_cast<uint64_t>(n_notes); first += 64) {
    sched.begin_period(first < end_frame ? first : end_frame, 64);
    MidiMessage m;
    while (sched.next_event(m)) {
      ok = ok && m.bytes[1] == played % 128;
      ++played;
    }
    sched.end_period();
    std::this_thread::yield();
  }
  producer.join();
  return ok && lost() == 0 && sched.counters().commands_rejected.load() == 0;
}

}  // namespace jamd::realtime
