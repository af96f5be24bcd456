// JamHost on the real-time virtual clock with the bundled model and the real synth: the mix
// subscriber gets contiguous, non-silent audio, the notes subscriber gets the band's notes, a
// mute posted through post_state silences the band from the next period on, a stop silences it
// (reverb tails too) from the period it reaches and playing again resumes, and a subscriber that
// never reads loses only its own blocks.
#include "daemon/host/jam_host.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <span>
#include <thread>
#include <vector>

#include "tests/daemon/jam_fixture.h"

namespace jamd {
namespace {

using testing::band_alone_state;
using testing::peak;
using testing::start_conductor;
using testing::wait_for_frames;

TEST(JamHostTest, PlaysTapsMutesAndDropsOnlyForASlowSubscriber) {
  std::unique_ptr<Conductor> conductor = start_conductor();
  ASSERT_NE(conductor, nullptr);
  const JamState state = band_alone_state(/*seed=*/3);
  JamHostOptions options;
  options.synth_effects = false;  // the dry band: no reverb tail after the mute
  auto host = JamHost::start(7, state, *conductor, options);
  ASSERT_TRUE(host.ok()) << host.status();
  const uint32_t rate = (*host)->sample_rate_hz();
  auto mix = (*host)->subscribe_mix(100000, nullptr);
  auto notes = (*host)->subscribe_notes(100000, nullptr);
  auto slow = (*host)->subscribe_mix(4, nullptr);  // never popped

  wait_for_frames(**host, 3 * rate);
  JamState muted = state;
  for (PartState& part : muted.parts) part.muted = true;
  (*host)->post_state(muted);
  wait_for_frames(**host, 5 * rate);
  const JamHostStats stats = (*host)->stats();
  (*host)->stop();
  (*host)->stop();  // idempotent
  EXPECT_TRUE(conductor->status().ok()) << conductor->status();

  ASSERT_EQ(stats.instant_controls_applied, 1u);
  const uint64_t mute_frame = stats.instant_controls_frame;
  EXPECT_GT(mute_frame, 3u * rate);
  std::vector<MixBlock> blocks;
  while (auto b = mix->pop()) blocks.push_back(std::move(*b));
  EXPECT_TRUE(mix->finished());
  ASSERT_FALSE(blocks.empty());
  EXPECT_EQ(blocks.front().first_frame, 0u);
  float peak_before = 0.0f, peak_tail = 0.0f;
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (i > 0) {
      ASSERT_EQ(blocks[i].first_frame,
                blocks[i - 1].first_frame + blocks[i - 1].interleaved.size() / 2)
          << "block " << i;
    }
    if (blocks[i].first_frame + blocks[i].interleaved.size() / 2 <= mute_frame) {
      peak_before = std::max(peak_before, peak(blocks[i]));
    }
    // From the next block on: CC 7 = 0 is -96 dB, reached within one 64-frame synth block.
    if (blocks[i].first_frame >= mute_frame) {
      peak_tail = std::max(peak_tail, peak(blocks[i]));
    }
  }
  EXPECT_GE(blocks.back().first_frame + blocks.back().interleaved.size() / 2, 5u * rate);
  EXPECT_GT(peak_before, 0.01f);
  EXPECT_LT(peak_tail, peak_before * 0.001f);
  std::printf("  [host] %zu blocks, peak %.3f before the mute, %.6f from the next block on\n",
              blocks.size(), peak_before, peak_tail);

  int generated = 0, after_mute = 0;
  while (auto n = notes->pop()) {
    EXPECT_EQ(n->source, TappedNote::Source::kGenerated);
    EXPECT_GE(n->part, 0);
    EXPECT_GE(n->bar, 0);
    generated += 1;
    // A muted part's note-ons stop at the period the controls were applied in.
    after_mute += n->onset_frame >= mute_frame ? 1 : 0;
  }
  EXPECT_GT(generated, 10);
  EXPECT_EQ(after_mute, 0);

  EXPECT_GT(slow->n_dropped(), 0u);
  EXPECT_EQ(mix->n_dropped(), 0u);
  EXPECT_EQ(stats.mix_frames_lost, 0u);
}

// The peak of the mix over jam frames [from, to), from contiguous blocks.
float peak_between(const std::vector<MixBlock>& blocks, uint64_t from, uint64_t to) {
  float p = 0.0f;
  for (const MixBlock& b : blocks) {
    const uint64_t end = b.first_frame + b.interleaved.size() / 2;
    const uint64_t lo = std::max(from, b.first_frame), hi = std::min(to, end);
    if (lo >= hi) continue;
    p = std::max(p,
                 peak(std::span(b.interleaved).subspan((lo - b.first_frame) * 2, (hi - lo) * 2)));
  }
  return p;
}

// Waits (bounded) until the RT thread has applied `applied` control snapshots; the jam frame of
// the period that applied the last one.
uint64_t wait_for_controls(const JamHost& host, uint64_t applied) {
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(testing::kGiveUpSeconds);
  while (host.stats().instant_controls_applied < applied &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return host.stats().instant_controls_frame;
}

TEST(JamHostTest, StopSilencesFromItsPeriodWithTailsAndPlayingAgainResumes) {
  std::unique_ptr<Conductor> conductor = start_conductor();
  ASSERT_NE(conductor, nullptr);
  JamState state = band_alone_state(/*seed=*/5);
  auto host = JamHost::start(3, state, *conductor, {});  // reverb and chorus on
  ASSERT_TRUE(host.ok()) << host.status();
  const uint32_t rate = (*host)->sample_rate_hz();
  auto mix = (*host)->subscribe_mix(100000, nullptr);
  auto notes = (*host)->subscribe_notes(100000, nullptr);

  wait_for_frames(**host, 3 * rate);
  state.playing = false;
  (*host)->post_state(state);
  const uint64_t stop_frame = wait_for_controls(**host, 1);
  wait_for_frames(**host, stop_frame + 2 * rate);
  state.playing = true;
  (*host)->post_state(state);
  const uint64_t resume_frame = wait_for_controls(**host, 2);
  wait_for_frames(**host, resume_frame + 3 * rate);
  (*host)->stop();
  ASSERT_EQ((*host)->stats().instant_controls_applied, 2u);

  std::vector<MixBlock> blocks;
  while (auto b = mix->pop()) blocks.push_back(std::move(*b));
  const uint64_t end = (*host)->stats().frames_played;
  const float before = peak_between(blocks, 0, stop_frame);
  const float stopped = peak_between(blocks, stop_frame, resume_frame);
  const float resumed = peak_between(blocks, resume_frame, end);
  std::printf(
      "  [stop] peak %.3f before, %.6f from the stop's period (%.2f s) to the resume "
      "(%.2f s), %.3f after\n",
      before, stopped, static_cast<double>(stop_frame) / rate,
      static_cast<double>(resume_frame) / rate, resumed);
  EXPECT_GT(before, 0.01f);
  EXPECT_LT(stopped, 1e-4f);
  EXPECT_GT(resumed, 0.01f);
  int onsets_stopped = 0, onsets_resumed = 0;
  while (auto n = notes->pop()) {
    onsets_stopped += n->onset_frame >= stop_frame && n->onset_frame < resume_frame;
    onsets_resumed += n->onset_frame >= resume_frame;
  }
  EXPECT_EQ(onsets_stopped, 0);
  EXPECT_GT(onsets_resumed, 0);
  EXPECT_TRUE(conductor->status().ok()) << conductor->status();
}

TEST(JamHostTest, StopWithoutAnyoneListeningAndABadSoundFont) {
  std::unique_ptr<Conductor> conductor = start_conductor();
  ASSERT_NE(conductor, nullptr);
  JamHostOptions bad_options;
  bad_options.soundfont = "/nonexistent.sf2";
  auto bad = JamHost::start(1, band_alone_state(3), *conductor, bad_options);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("/nonexistent.sf2"), std::string::npos) << bad.status();
  auto host = JamHost::start(2, band_alone_state(3), *conductor, {});
  ASSERT_TRUE(host.ok()) << host.status();
  auto notes = (*host)->subscribe_notes(16, nullptr);
  host->reset();  // the destructor stops
  EXPECT_TRUE(notes->finished() || notes->pop().has_value());
}

// jamd serve's layout: two jams on one SharedClock and one SharedWorker both play contiguous,
// non-silent mix blocks and their notes; stopping one leaves the other playing.
TEST(JamHostTest, JamsShareOneClockAndOneWorker) {
  std::unique_ptr<Conductor> conductor = start_conductor();
  ASSERT_NE(conductor, nullptr);
  SharedClock clock(SharedClockOptions{});
  SharedWorker worker;
  JamHostOptions options;
  options.shared_clock = &clock;
  options.shared_worker = &worker;
  auto a = JamHost::start(11, band_alone_state(5), *conductor, options);
  auto b = JamHost::start(12, band_alone_state(6), *conductor, options);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  auto mix_b = (*b)->subscribe_mix(100000, nullptr);
  auto notes_b = (*b)->subscribe_notes(100000, nullptr);
  wait_for_frames(**a, 48000);
  (*a)->stop();
  const uint64_t a_frames = (*a)->stats().frames_played;
  wait_for_frames(**b, 2 * 48000);
  EXPECT_EQ((*a)->stats().frames_played, a_frames);  // stopped: its seat is gone
  (*b)->stop();
  uint64_t next = 0;
  float loudest = 0;
  while (std::optional<MixBlock> block = mix_b->pop()) {
    EXPECT_EQ(block->first_frame, next);
    next = block->first_frame + block->interleaved.size() / 2;
    loudest = std::max(loudest, peak(*block));
  }
  EXPECT_GE(next, 2u * 48000);
  EXPECT_GT(loudest, 0.01f);
  EXPECT_TRUE(notes_b->pop().has_value());
  EXPECT_TRUE(conductor->status().ok()) << conductor->status();
}

// A conductor held up for three seconds (an overloaded machine) finds the playhead past what it had
// posted. The notes it had planned there it posts late, and the jam drops their note-ons
// (kDropNoteOnsLateMs) instead of playing them in one burst (their note-offs, and notes less late,
// play). Past the end of its plan it posts nothing: the band rests up to the playhead and plays
// on from there (ConductedJam::post_due).
TEST(JamHostTest, NotesTheConductorPostsTooLateAreDroppedNotPlayedInABurst) {
  auto conductor = Conductor::create({.model_path = JAMD_SOURCE_DIR "/models/band.jamd"});
  ASSERT_TRUE(conductor.ok()) << conductor.status();
  auto host = JamHost::start(21, band_alone_state(7), **conductor, {});
  ASSERT_TRUE(host.ok()) << host.status();
  (*conductor)->start();
  wait_for_frames(**host, 48000);  // a bar planned, and the next one from its middle
  (*conductor)->stop();
  wait_for_frames(**host, 3 * 48000 + (*host)->stats().frames_played);  // past the plan's end
  const JamHostStats held = (*host)->stats();
  (*conductor)->start();
  wait_for_frames(**host, 2 * 48000 + held.frames_played);
  const JamHostStats s = (*host)->stats();
  EXPECT_GT(s.unplanned_frames, 0u) << "the band did not rest where nothing was planned";
  EXPECT_GT(s.events_played - s.late_events, held.events_played - held.late_events)
      << "no event played in time after the conductor came back: the band did not play on";
  (*host)->stop();
  EXPECT_GT(s.late_note_ons_dropped, 0u);
  EXPECT_LE(s.late_note_ons_dropped, s.late_events);
  EXPECT_GT(s.events_played + s.late_note_ons_dropped, s.late_events);
  EXPECT_GT(s.late_frames_max, static_cast<uint64_t>(kDropNoteOnsLateMs * 48));
  EXPECT_TRUE((*conductor)->status().ok()) << (*conductor)->status();
}

}  // namespace
}  // namespace jamd
