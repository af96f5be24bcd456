// The two-thread ring, audio ring and scheduler-queue stress runs, built with ThreadSanitizer
// (see CMakeLists.txt): a data race in the lock-free code fails this test.
#include <gtest/gtest.h>

#include "tests/realtime/core/ring_stress.h"

namespace jamd::realtime {
namespace {

TEST(RingsUnderThreadSanitizer, SpscRingHasNoRace) { EXPECT_TRUE(stress_spsc_ring(50'000)); }

TEST(RingsUnderThreadSanitizer, AudioRingHasNoRace) { EXPECT_TRUE(stress_audio_ring(50'000)); }

TEST(RingsUnderThreadSanitizer, SchedulerQueueHasNoRace) { EXPECT_TRUE(stress_scheduler(5'000)); }

}  // namespace
}  // namespace jamd::realtime
