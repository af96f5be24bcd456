// TapFanout: the tap thread's work. It drains the RT thread's mix ring into fixed 20 ms MixBlocks
// on the jam's sample clock, turns the RT thread's note on/off events into TappedNotes with their
// bar and beat (from the clock marks the RT thread leaves each period), and hands both to every
// subscriber's bounded TapQueue. The listener thread publishes heard notes and the input audio
// through it too, so every subscriber sees one stream of notes.
//
//   TapFanout fanout(mix_ring, event_ring, {.sample_rate_hz = 48000, .beats_per_bar = 4});
//   auto notes = fanout.subscribe_notes(256, nullptr);     // any thread
//   while (running) { fanout.drain(); sleep(5 ms); }       // the tap thread
//   fanout.finish();                                        // after the RT thread stopped
//
// Thread safety: drain() and finish() on the tap thread only (the rings' one consumer);
// subscribe_*, publish_*, position_at() and counters from any thread. Subscribers are pushed to
// without any lock of ours held; a full queue drops its own oldest item.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "daemon/host/host_callback.h"
#include "daemon/host/jam_host.h"
#include "daemon/host/tap_queue.h"

namespace jamd {

struct TapFanoutOptions {
  uint32_t sample_rate_hz = 48000;
  int beats_per_bar = 4;
  double tempo_bpm = 120.0;  // until the first clock mark
};

// A position on the jam's musical clock.
struct MusicalPosition {
  int64_t tick = 0;  // conductor ticks (480 per quarter) from bar 0
  int64_t bar = 0;
  double beat = 0.0;  // within the bar, in quarter notes
};

template <typename T>
class Subscribers {
 public:
  std::shared_ptr<TapQueue<T>> add(size_t capacity, std::function<void()> on_ready) {
    auto queue = std::make_shared<TapQueue<T>>(capacity, std::move(on_ready));
    absl::MutexLock lock(&mu_);
    if (closed_) {
      queue->close();
    } else {
      queues_.push_back(queue);
    }
    return queue;
  }
  // Pushes to every live subscriber (outside our lock); forgets those nobody else holds.
  void push(const T& item) {
    std::vector<std::shared_ptr<TapQueue<T>>> queues;
    {
      absl::MutexLock lock(&mu_);
      std::erase_if(queues_, [](const auto& q) { return q.use_count() == 1; });
      queues = queues_;
    }
    for (const auto& q : queues) q->push(item);
  }
  bool empty() const {
    absl::MutexLock lock(&mu_);
    return queues_.empty();
  }
  void close() {
    std::vector<std::shared_ptr<TapQueue<T>>> queues;
    {
      absl::MutexLock lock(&mu_);
      closed_ = true;
      queues.swap(queues_);
    }
    for (const auto& q : queues) q->close();
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<TapQueue<T>>> queues_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

class TapFanout {
 public:
  TapFanout(realtime::AudioRing& mix, realtime::SpscRing<TapEvent>& events,
            const TapFanoutOptions& options);

  // One pass over the rings. thread: tap
  void drain();
  // After the RT thread stopped: drains, sends the last partial block, ends held notes and
  // closes every subscriber queue. thread: tap (or control, once the tap thread is joined)
  void finish();

  std::shared_ptr<TapQueue<MixBlock>> subscribe_mix(size_t capacity,
                                                    std::function<void()> on_ready) {
    return mix_.add(capacity, std::move(on_ready));
  }
  std::shared_ptr<TapQueue<TappedNote>> subscribe_notes(size_t capacity,
                                                        std::function<void()> on_ready) {
    return notes_.add(capacity, std::move(on_ready));
  }
  std::shared_ptr<TapQueue<MixBlock>> subscribe_input(size_t capacity,
                                                      std::function<void()> on_ready) {
    return input_.add(capacity, std::move(on_ready));
  }
  bool has_input_subscribers() const { return !input_.empty(); }  // thread: any

  void publish_note(const TappedNote& note) { notes_.push(note); }   // thread: any
  void publish_input(const MixBlock& block) { input_.push(block); }  // thread: any
  // Where `frame` of the jam's clock falls, from the latest clock mark. thread: any
  MusicalPosition position_at(uint64_t frame) const;
  uint32_t block_frames() const { return block_frames_; }

 private:
  struct Mark {
    uint64_t frame = 0;
    int64_t tick = 0;
    double tempo_bpm = 120.0;
  };
  struct Held {
    uint64_t onset_frame = 0;
    int velocity = 0;
    MusicalPosition position;
  };
  void drain_events();
  void drain_audio(size_t available_frames);
  void emit_block();
  void on_clock(const Mark& mark);
  void end_note(int channel, int pitch, uint64_t end_frame);
  MusicalPosition position_from(const Mark& mark, uint64_t frame) const;

  realtime::AudioRing& mix_ring_;
  realtime::SpscRing<TapEvent>& event_ring_;
  const TapFanoutOptions options_;
  const uint32_t block_frames_;
  Subscribers<MixBlock> mix_;
  Subscribers<TappedNote> notes_;
  Subscribers<MixBlock> input_;
  // Tap thread.
  std::deque<TapEvent> gaps_;                 // mix gaps not yet reached by the audio cursor
  std::vector<TapEvent> unresolved_;          // note events waiting for their period's clock mark
  std::map<std::pair<int, int>, Held> held_;  // (channel, pitch) -> sounding note
  MixBlock block_;                            // being filled
  uint64_t cursor_frame_ = 0;                 // the jam frame of the next mix frame read
  std::vector<float> scratch_;
  mutable absl::Mutex mark_mu_;
  Mark mark_ ABSL_GUARDED_BY(mark_mu_);
};

}  // namespace jamd
