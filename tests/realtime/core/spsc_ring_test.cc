// SpscRing and AudioRing: order, bounds, wrap-around, counted losses, and two-thread transfer.
#include "realtime/core/spsc_ring.h"

#include <gtest/gtest.h>

#include <vector>

#include "realtime/core/audio_ring.h"
#include "tests/realtime/core/ring_stress.h"

namespace jamd::realtime {
namespace {

TEST(SpscRing, RoundsCapacityUpToPowerOfTwo) {
  SpscRing<int> ring(100);
  EXPECT_EQ(ring.capacity(), 128u);
}

TEST(SpscRing, PopsInPushOrderAndRefusesWhenFull) {
  SpscRing<int> ring(4);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(ring.try_push(i));
  EXPECT_FALSE(ring.try_push(99));
  int v = -1;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(ring.try_pop(v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(ring.try_pop(v));
}

TEST(SpscRing, WrapsAroundManyTimes) {
  SpscRing<uint64_t> ring(8);
  uint64_t next_out = 0;
  for (uint64_t i = 0; i < 1000; ++i) {
    ASSERT_TRUE(ring.try_push(i));
    if (i % 3 == 2) {
      uint64_t v = 0;
      while (ring.try_pop(v)) EXPECT_EQ(v, next_out++);
    }
  }
  EXPECT_EQ(ring.size(), 1000 - next_out);
}

TEST(SpscRing, PeekShowsTheNextItemWithoutRemovingIt) {
  SpscRing<int> ring(4);
  EXPECT_EQ(ring.peek(), nullptr);
  ring.try_push(7);
  const int* next = ring.peek();
  ASSERT_NE(next, nullptr);
  const int value = next != nullptr ? *next : -1;
  EXPECT_EQ(value, 7);
  EXPECT_EQ(ring.size(), 1u);
}

TEST(SpscRing, TransfersEverythingBetweenTwoThreadsInOrder) {
  EXPECT_TRUE(stress_spsc_ring(200'000));
}

TEST(AudioRing, ReadsBackInterleavedWhatWasWrittenPlanar) {
  AudioRing ring(16, 2);
  const std::vector<float> left = {1, 2, 3}, right = {-1, -2, -3};
  const std::span<const float> channels[2] = {left, right};
  EXPECT_EQ(ring.write_planar(channels, 3), 3u);
  std::vector<float> out(6);
  EXPECT_EQ(ring.read_interleaved(out), 3u);
  EXPECT_EQ(out, (std::vector<float>{1, -1, 2, -2, 3, -3}));
}

TEST(AudioRing, CountsOverrunWhenFullAndUnderrunWhenShort) {
  AudioRing ring(4, 1);
  const std::vector<float> six = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(ring.write_interleaved(six), 4u);
  EXPECT_EQ(ring.overrun_frames(), 2u);
  std::vector<float> out(8);
  EXPECT_EQ(ring.read_interleaved(out), 4u);
  EXPECT_EQ(ring.underrun_frames(), 4u);
  EXPECT_EQ(out[3], 4.0f);
}

TEST(AudioRing, TransfersEverythingBetweenTwoThreadsInOrder) {
  EXPECT_TRUE(stress_audio_ring(200'000));
}

}  // namespace
}  // namespace jamd::realtime
