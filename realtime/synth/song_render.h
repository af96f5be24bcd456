// render_song_to_wav: a whole song through the band's own path (SongFeeder → Scheduler → Band
// with the FluidSynth synth) into a WAV file, as fast as possible. `jamd play --out` and the
// offline render tests use it.
//
//   absl::StatusOr<SongRenderResult> r = render_song_to_wav(song, {.wav_path = "out/demo.wav"});
//   if (r.ok()) std::printf("%.0fx real time\n", r->stats.speed_x_real_time);
//
// Thread safety: runs entirely on the calling thread (which plays the RT thread's part).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "realtime/core/song.h"
#include "realtime/io/virtual_io.h"
#include "realtime/synth/synth.h"

namespace jamd::realtime {

// Reverb and release tails ring on after the last note-off.
inline constexpr double kSongTailSeconds = 2.0;
// How far ahead of the playhead the song is posted to the scheduler.
inline constexpr double kSongFeedHorizonSeconds = 0.5;

struct SongRenderOptions {
  std::string wav_path;
  uint32_t period_frames = 256;
  double tail_seconds = kSongTailSeconds;
  SynthOptions synth{};  // its sample_rate_hz is the WAV's
};

struct SongRenderResult {
  OfflineRenderStats stats;
  int64_t song_end_frame = 0;  // where the song's last event or end-of-track falls
  uint64_t events_played = 0;
  uint64_t events_late = 0;
  uint64_t events_dropped = 0;  // the event store overflowed
};

// The WAV holds song_end_frame + tail_seconds of audio, exactly. Errors: SoundFont, path.
absl::StatusOr<SongRenderResult> render_song_to_wav(const Song& song,
                                                    const SongRenderOptions& options);

// The scheduler's sizes for playing a song: roomy enough for dense files at the feed horizon.
SchedulerOptions song_scheduler_options(const Song& song, uint32_t sample_rate_hz);

}  // namespace jamd::realtime
