// Two-thread stress runs of the rings and the scheduler's command queue, shared by the plain
// unit tests and the ThreadSanitizer build (ring_tsan_test). Each returns true when every item
// arrived once, in order.
#pragma once

#include <cstdint>

namespace jamd::realtime {

bool stress_spsc_ring(uint64_t n_items);
bool stress_audio_ring(uint64_t n_frames);
// A producer posts notes while the consumer runs periods; true when all were played in order.
bool stress_scheduler(int n_notes);

}  // namespace jamd::realtime
