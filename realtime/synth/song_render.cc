// render_song_to_wav: the offline twin of playing a song live, on the same scheduler and synth.
#include "realtime/synth/song_render.h"

#include <cmath>
#include <memory>

#include "realtime/core/scheduler.h"
#include "realtime/synth/band.h"

namespace jamd::realtime {

SchedulerOptions song_scheduler_options(const Song& song, uint32_t sample_rate_hz) {
  SchedulerOptions o;
  o.sample_rate_hz = sample_rate_hz;
  o.ticks_per_quarter = song.ticks_per_quarter;
  o.max_events = 1 << 16;
  o.command_queue_size = 1 << 14;
  return o;
}

absl::StatusOr<SongRenderResult> render_song_to_wav(const Song& song,
                                                    const SongRenderOptions& options) {
  absl::StatusOr<std::unique_ptr<Synth>> synth = Synth::create(options.synth);
  if (!synth.ok()) return synth.status();
  const uint32_t rate_hz = options.synth.sample_rate_hz;
  Scheduler sched(song_scheduler_options(song, rate_hz));
  SongFeeder feeder(song, rate_hz);
  Band band(sched, **synth);
  const auto horizon = static_cast<int64_t>(kSongFeedHorizonSeconds * rate_hz);
  SongRenderResult result;
  result.song_end_frame = feeder.end_frame();
  const auto tail_frames = static_cast<int64_t>(std::llround(options.tail_seconds * rate_hz));
  absl::StatusOr<OfflineRenderStats> stats = render_offline(
      {.wav_path = options.wav_path,
       .sample_rate_hz = rate_hz,
       .period_frames = options.period_frames,
       .total_frames = static_cast<uint64_t>(result.song_end_frame + tail_frames)},
      band, [&](uint64_t first) { feeder.feed(sched, static_cast<int64_t>(first) + horizon); });
  if (!stats.ok()) return stats.status();
  result.stats = *stats;
  result.events_played = sched.counters().events_played.load();
  result.events_late = sched.counters().events_late.load();
  result.events_dropped = sched.counters().events_overflowed.load();
  return result;
}

}  // namespace jamd::realtime
