// JamStreamer and FanOut: packets and notes reach every listener in order; a listener that
// never reads loses only its own oldest packets; one that leaves is forgotten.
#include "daemon/stream/jam_streamer.h"

#include <gtest/gtest.h>

#include "tests/daemon/stream/opus_test_util.h"

namespace jamd {
namespace {

// Generous: the streamer encodes 2 s of audio in a few ms; this only bounds a hang.
constexpr absl::Duration kPatience = absl::Seconds(30);

struct Rig {
  std::shared_ptr<TapQueue<MixBlock>> mix = std::make_shared<TapQueue<MixBlock>>(1024, nullptr);
  std::shared_ptr<TapQueue<TappedNote>> notes =
      std::make_shared<TapQueue<TappedNote>>(1024, nullptr);
  std::shared_ptr<FanOut<SharedOpusPacket>> audio = std::make_shared<FanOut<SharedOpusPacket>>();
  std::shared_ptr<FanOut<TappedNote>> notes_out = std::make_shared<FanOut<TappedNote>>();
  std::unique_ptr<JamStreamer> start() {
    return *JamStreamer::start(mix, notes, 48000, audio, notes_out, {});
  }
};

// Pops `n` items, waiting for each.
template <typename T>
std::vector<T> take(TapQueue<T>& q, size_t n) {
  std::vector<T> items;
  const absl::Time deadline = absl::Now() + kPatience;
  while (items.size() < n && absl::Now() < deadline) {
    if (std::optional<T> item = q.pop_wait(absl::Milliseconds(100))) items.push_back(*item);
  }
  return items;
}

TEST(JamStreamer, EveryListenerGetsEveryPacketInOrderAndTheAudioDecodes) {
  Rig rig;
  auto a = rig.audio->subscribe(1000, nullptr);
  auto b = rig.audio->subscribe(1000, nullptr);
  auto streamer = rig.start();
  for (MixBlock& block : testing::sine_blocks(440, 48000, 256, 375)) rig.mix->push(block);
  for (const auto& q : {a, b}) {
    const std::vector<SharedOpusPacket> packets = take(*q, 200);
    ASSERT_EQ(packets.size(), 200u);
    testing::Decoder dec;
    std::vector<float> pcm;
    for (size_t i = 0; i < packets.size(); ++i) {
      EXPECT_EQ(packets[i]->packet.sequence, i);
      dec.decode(packets[i]->packet.data, &pcm);
    }
    EXPECT_NEAR(testing::sine_freq_hz(pcm, 48000, 9600), 440.0, 2.0);
  }
  EXPECT_EQ(streamer->stats().packets, 200u);
}

TEST(JamStreamer, ListenersShareOneCopyOfEachPacket) {
  Rig rig;
  auto a = rig.audio->subscribe(100, nullptr);
  auto b = rig.audio->subscribe(100, nullptr);
  auto streamer = rig.start();
  for (MixBlock& block : testing::sine_blocks(440, 48000, 480, 10)) rig.mix->push(block);
  const std::vector<SharedOpusPacket> from_a = take(*a, 10);
  const std::vector<SharedOpusPacket> from_b = take(*b, 10);
  ASSERT_EQ(from_a.size(), 10u);
  ASSERT_EQ(from_b.size(), 10u);
  for (size_t i = 0; i < from_a.size(); ++i) EXPECT_EQ(from_a[i].get(), from_b[i].get());
}

int g_serializations = 0;
std::string count_and_serialize(const OpusPacket& p) {
  ++g_serializations;
  return p.data + "!";
}

TEST(PublishedPacket, WireBytesAreMadeOnceAndShared) {
  const PublishedPacket packet(OpusPacket{.sequence = 7, .data = "opus"});
  const std::string& first = packet.wire_bytes(&count_and_serialize);
  const std::string& second = packet.wire_bytes(&count_and_serialize);
  EXPECT_EQ(first, "opus!");
  EXPECT_EQ(&first, &second);
  EXPECT_EQ(g_serializations, 1);
}

TEST(JamStreamer, AListenerThatNeverReadsLosesOnlyItsOwnOldestPackets) {
  Rig rig;
  auto stalled = rig.audio->subscribe(4, nullptr);
  auto reader = rig.audio->subscribe(1000, nullptr);
  auto streamer = rig.start();
  for (MixBlock& block : testing::sine_blocks(440, 48000, 480, 100)) rig.mix->push(block);
  ASSERT_EQ(take(*reader, 100).size(), 100u);
  EXPECT_EQ(reader->n_dropped(), 0u);
  EXPECT_EQ(stalled->n_dropped(), 96u);
  const std::vector<SharedOpusPacket> kept = take(*stalled, 4);
  ASSERT_EQ(kept.size(), 4u);
  EXPECT_EQ(kept.front()->packet.sequence, 96u);  // the newest four
}

TEST(JamStreamer, NotesAreRelayedToEveryNotesListener) {
  Rig rig;
  auto a = rig.notes_out->subscribe(100, nullptr);
  auto b = rig.notes_out->subscribe(100, nullptr);
  auto streamer = rig.start();
  for (int pitch = 60; pitch < 64; ++pitch) rig.notes->push(TappedNote{.part = 1, .pitch = pitch});
  for (const auto& q : {a, b}) {
    const std::vector<TappedNote> got = take(*q, 4);
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[0].pitch, 60);
    EXPECT_EQ(got[3].pitch, 63);
  }
}

TEST(FanOut, AListenerThatLeavesIsForgottenAndCloseEndsTheRest) {
  FanOut<int> fan;
  auto stays = fan.subscribe(8, nullptr);
  {
    auto leaves = fan.subscribe(8, nullptr);
    EXPECT_EQ(fan.n_subscribers(), 2u);
  }
  fan.publish(1);
  EXPECT_EQ(fan.n_subscribers(), 1u);
  fan.close();
  EXPECT_EQ(stays->pop(), 1);
  EXPECT_TRUE(stays->finished());
  EXPECT_TRUE(fan.subscribe(8, nullptr)->finished());  // too late: already closed
}

TEST(JamStreamer, StopEndsTheThreadEvenWithoutInput) {
  Rig rig;
  auto streamer = rig.start();
  streamer->stop();
  streamer->stop();  // idempotent
  EXPECT_EQ(streamer->stats().packets, 0u);
}

}  // namespace
}  // namespace jamd
