// The offline jam: the musician's MIDI fed to the scheduler and the listener period by period,
// the conductor serviced in lockstep before each period, and the record written out as a MIDI
// file and a JSON report.
#include "daemon/conductor/offline_jam.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "models/tokenizer/harmony.h"
#include "realtime/core/c_handles.h"
#include "realtime/core/scheduler.h"
#include "realtime/core/song.h"
#include "realtime/listen/listen_file.h"
#include "realtime/listen/listener.h"
#include "realtime/midi/midi_file.h"
#include "realtime/synth/band.h"
#include "realtime/synth/master_limiter.h"
#include "realtime/synth/synth.h"

namespace jamd {
namespace {

constexpr JamId kJam = 1;
// The musician's notes reach the scheduler this far ahead of the playhead (they are a file, not
// a live player; the band never sees them before the listener hears them).
constexpr double kHumanLeadSeconds = 0.25;
// Every note of a dense band for a few seconds fits in the scheduler's store.
constexpr size_t kSchedulerEvents = 65536;

struct Musician {
  std::vector<realtime::TimedMidiMessage> timeline;
  int64_t end_frame = 0;
  size_t next_played = 0;  // posted to the scheduler
  size_t next_heard = 0;   // fed to the listener
};

absl::Status load_musician(const OfflineJamOptions& options, Musician& musician, JamState& state) {
  absl::StatusOr<realtime::MidiFile> file = realtime::read_midi_file(options.input_path);
  if (!file.ok()) return file.status();
  absl::StatusOr<realtime::Song> song = realtime::song_from_midi(*file);
  if (!song.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(options.input_path, ": ",
                                                   song.status().message(),
                                                   "; give a MIDI file with the musician's notes"));
  }
  const realtime::TempoMap map = song->tempo_map(options.sample_rate_hz);
  state.tempo_bpm = std::clamp(map.tempo_bpm_at(0), models::kTempoMinBpm, models::kTempoMaxBpm);
  const realtime::TimeSignature meter = map.time_signature_at(0);
  state.beats_per_bar = meter.denominator == 4 ? meter.numerator : 4;
  musician.timeline = realtime::midi_timeline(*file, options.sample_rate_hz, &musician.end_frame);
  return absl::OkStatus();
}

bool is_channel_voice(const realtime::MidiMessage& m) {
  return m.size >= 2 && m.bytes[0] >= 0x80 && m.bytes[0] < 0xF0;
}

// The musician's part, played by the scheduler on the human channel.
void play_musician(Musician& musician, const realtime::TempoMap& clock,
                   realtime::Scheduler& scheduler, int64_t until_frame) {
  while (musician.next_played < musician.timeline.size() &&
         static_cast<int64_t>(musician.timeline[musician.next_played].frame) < until_frame) {
    realtime::MidiMessage m = musician.timeline[musician.next_played].message;
    if (is_channel_voice(m) && scheduler.free_command_slots() > 0) {
      m.bytes[0] = static_cast<uint8_t>((m.bytes[0] & 0xF0) | kHumanChannel);
      const int64_t tick = clock.first_tick_at_or_after(
          static_cast<int64_t>(musician.timeline[musician.next_played].frame));
      scheduler.schedule(tick, m);
    } else if (is_channel_voice(m)) {
      return;  // the queue is full: resume next period
    }
    ++musician.next_played;
  }
}

// What the listener heard up to `frame` goes to the conductor, as jamd:midi_in's would.
void hear_musician(Musician& musician, realtime::Listener& listener, Conductor& conductor,
                   int64_t frame) {
  const size_t from = musician.next_heard;
  while (musician.next_heard < musician.timeline.size() &&
         static_cast<int64_t>(musician.timeline[musician.next_heard].frame) < frame) {
    ++musician.next_heard;
  }
  listener.feed_midi(std::span(musician.timeline).subspan(from, musician.next_heard - from));
  listener.advance_to(frame);
  for (const realtime::HeardEvent& e : listener.drain()) conductor.post_heard(kJam, e);
}

// A musician's audio take: played into the mix and heard by the listener's audio path, shifted
// by delay_frames so that its first beat lands on a beat of the band's grid.
struct Take {
  std::vector<float> samples;  // interleaved
  int channels = 1;
  int64_t delay_frames = 0;
  int64_t heard_until = 0;  // on the jam's clock
  int64_t end_frame() const {
    return delay_frames + static_cast<int64_t>(samples.size()) / channels;
  }
  float at(int64_t frame, int channel) const {  // 0 outside the take
    const int64_t i = frame - delay_frames;
    if (i < 0 || i >= static_cast<int64_t>(samples.size()) / channels) return 0.0f;
    return samples[static_cast<size_t>(i * channels + std::min(channel, channels - 1))];
  }
};

bool is_wav(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in && std::string(magic, 4) == "RIFF";
}

// Reads the take, and from a first listen its tempo and first beat (the jam's tempo is fixed
// before it starts; a live jam would follow the listener's beats instead).
absl::Status load_take(const std::string& path, Take& take, JamState& state,
                       uint32_t& sample_rate_hz) {
  SF_INFO info{};
  realtime::SndFilePtr file(sf_open(path.c_str(), SFM_READ, &info));
  if (!file) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' is not audio jamd can read (",
                                                   sf_strerror(nullptr),
                                                   "); give a PCM or float WAV, mono or stereo"));
  }
  if (info.channels < 1 || info.channels > 2 || info.samplerate < 8000 ||
      info.samplerate > 192000) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' has ", info.channels, " channels at ", info.samplerate,
                     " Hz; jamd render takes mono or stereo at 8-192 kHz: convert it first"));
  }
  take.channels = info.channels;
  std::vector<float> block(static_cast<size_t>(info.channels) * 4096);
  sf_count_t got = 0;
  while ((got = sf_readf_float(file.get(), block.data(), 4096)) > 0) {
    take.samples.insert(take.samples.end(), block.begin(), block.begin() + got * info.channels);
  }
  if (take.samples.empty())
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' is empty"));
  sample_rate_hz = static_cast<uint32_t>(info.samplerate);
  const realtime::ListenResult scan =
      realtime::listen_audio(take.samples, take.channels, sample_rate_hz, {});
  std::vector<double> tempos;
  int64_t first_beat = -1;
  for (const realtime::HeardEvent& e : scan.events) {
    if (e.kind != realtime::HeardKind::kBeat) continue;
    tempos.push_back(e.tempo_bpm);
    if (first_beat < 0) first_beat = e.frame;
  }
  if (tempos.size() >= 4) {
    std::nth_element(tempos.begin(), tempos.begin() + static_cast<long>(tempos.size() / 2),
                     tempos.end());
    state.tempo_bpm =
        std::clamp(tempos[tempos.size() / 2], models::kTempoMinBpm, models::kTempoMaxBpm);
    const double beat_frames = 60.0 / state.tempo_bpm * sample_rate_hz;
    const double off_grid = std::fmod(static_cast<double>(first_beat), beat_frames);
    // Within a sixteenth of the grid counts as on it (the beat is reported a little after the
    // attack); otherwise delay the take to the next beat.
    if (off_grid > beat_frames / 4) take.delay_frames = std::llround(beat_frames - off_grid);
  }
  return absl::OkStatus();
}

// The band, plus the musician's take added into the mix, and the sum kept under the band's own
// ceiling (no make-up gain: the band's master stage already set its level; the take is as
// recorded). thread: rt (allocation-free)
class TakeMixer : public realtime::ProcessCallback {
 public:
  TakeMixer(realtime::Band& band, const Take& take, uint32_t sample_rate_hz)
      : band_(band), take_(take), limiter_({.gain_db = 0.0f}, sample_rate_hz) {}
  void process(const realtime::ProcessBlock& block) override {
    band_.process(block);
    for (uint32_t i = 0; i < block.n_frames; ++i) {
      const auto frame = static_cast<int64_t>(block.first_frame + i);
      block.audio_out[0][i] += take_.at(frame, 0);
      block.audio_out[1][i] += take_.at(frame, 1);
    }
    limiter_.process(block.audio_out[0].data(), block.audio_out[1].data(), block.n_frames);
  }

 private:
  realtime::Band& band_;
  const Take& take_;
  realtime::MasterLimiter limiter_;
};

// The take up to `frame` goes to the listener, as jamd:in_1/in_2 would carry it.
void hear_take(Take& take, realtime::Listener& listener, Conductor& conductor, int64_t frame) {
  if (frame <= take.heard_until) return;
  std::vector<float> left, right;
  for (int64_t f = take.heard_until; f < frame; ++f) {
    left.push_back(take.at(f, 0));
    if (take.channels == 2) right.push_back(take.at(f, 1));
  }
  take.heard_until = frame;
  listener.feed_audio(left, right);
  for (const realtime::HeardEvent& e : listener.drain()) conductor.post_heard(kJam, e);
}

}  // namespace

absl::StatusOr<OfflineJamResult> render_jam(const OfflineJamOptions& options) {
  OfflineJamResult result;
  JamState state = options.state;
  Musician musician;
  Take take;
  uint32_t rate = options.sample_rate_hz;
  const bool has_musician = !options.input_path.empty();
  const bool has_take = has_musician && is_wav(options.input_path);
  if (has_take) {
    if (absl::Status s = load_take(options.input_path, take, state, rate); !s.ok()) return s;
    musician.end_frame = take.end_frame();
  } else if (has_musician) {
    if (absl::Status s = load_musician(options, musician, state); !s.ok()) return s;
  }
  // The input's own tempo sets the jam's length in bars.
  const double bar_seconds = 60.0 / state.tempo_bpm * state.beats_per_bar;
  result.bars =
      options.bars > 0 ? options.bars
      : has_musician
          ? std::max<int64_t>(
                1, static_cast<int64_t>(std::ceil(
                       static_cast<double>(musician.end_frame) / rate / bar_seconds - 1e-3)))
          : 8;
  result.tempo_bpm = state.tempo_bpm;
  result.sample_rate_hz = rate;
  result.beats_per_bar = state.beats_per_bar;
  if (!has_musician && state.mode == JamMode::kAuto) state.mode = JamMode::kContinue;
  const bool follow_tempo = options.follow_tempo && has_musician;
  if (follow_tempo) {  // the band starts at the steered tempo and finds the musician's
    state.tempo_bpm = options.state.tempo_bpm;
    result.tempo_bpm = state.tempo_bpm;
  }

  absl::StatusOr<std::unique_ptr<realtime::Synth>> synth =
      realtime::Synth::create({.soundfont = options.soundfont, .sample_rate_hz = rate});
  if (!synth.ok()) return synth.status();
  realtime::Scheduler scheduler({.sample_rate_hz = rate,
                                 .ticks_per_quarter = kConductorTicksPerQuarter,
                                 .tempo_bpm = state.tempo_bpm,
                                 .time_signature = {state.beats_per_bar, 4},
                                 .max_events = kSchedulerEvents});
  realtime::Band band(scheduler, **synth);
  ConductorOptions conductor_options;
  conductor_options.model_path = options.model_path;
  conductor_options.backend = options.backend;
  conductor_options.precision = options.precision;
  conductor_options.max_jams = 1;
  conductor_options.horizons = options.horizons;
  conductor_options.tempo = options.tempo;
  conductor_options.accompany = options.accompany;
  absl::StatusOr<std::unique_ptr<Conductor>> conductor = Conductor::create(conductor_options);
  if (!conductor.ok()) return conductor.status();
  result.backend = (*conductor)->backend_description();
  const JamTimelineOptions timeline_options{.sample_rate_hz = rate,
                                            .tempo_bpm = state.tempo_bpm,
                                            .beats_per_bar = state.beats_per_bar,
                                            .end_bar = result.bars};
  (*conductor)->add_jam(kJam, state, scheduler, timeline_options);
  // The renderer's copy of the jam's clock (its tempo is fixed: steering may not change it
  // here), for the musician's ticks and the steering bars.
  const realtime::TempoMap clock(rate, kConductorTicksPerQuarter, state.tempo_bpm,
                                 {state.beats_per_bar, 4});
  const int64_t bar_ticks = int64_t{state.beats_per_bar} * kConductorTicksPerQuarter;
  realtime::ListenerOptions listener_options{.sample_rate_hz = rate};
  if (has_musician && !has_take) {
    listener_options.chord_decision_beats = options.midi_chord_decision_beats;
  }
  realtime::Listener listener(listener_options);

  absl::Status failure;
  size_t next_steer = 0;
  const auto before_period = [&](uint64_t first_frame) {
    const auto frame = static_cast<int64_t>(first_frame);
    if (options.on_period) options.on_period(frame);
    while (next_steer < options.steering.size() &&
           frame >= clock.frame_at(options.steering[next_steer].first * bar_ticks)) {
      (*conductor)->post_state(kJam, options.steering[next_steer].second);
      ++next_steer;
    }
    if (has_take) {
      hear_take(take, listener, **conductor, frame);
    } else if (has_musician) {
      // Following, the jam's tempo map is the conductor's to change: the musician is only heard.
      if (!follow_tempo) {
        play_musician(musician, clock, scheduler,
                      frame + static_cast<int64_t>(kHumanLeadSeconds * rate));
      }
      hear_musician(musician, listener, **conductor, frame);
    }
    if (absl::Status s = (*conductor)->service(); !s.ok() && failure.ok()) failure = s;
  };
  const realtime::OfflineRenderOptions render_options{
      .wav_path = options.wav_path.empty() ? "/dev/null" : options.wav_path,
      .sample_rate_hz = rate,
      .period_frames = options.period_frames,
      .total_frames = static_cast<uint64_t>(
          (follow_tempo ? static_cast<int64_t>(
                              std::llround(static_cast<double>(result.bars) * bar_seconds * rate))
                        : clock.frame_at(result.bars * bar_ticks)) +
          static_cast<int64_t>(options.tail_seconds * rate))};
  TakeMixer mixer(band, take, rate);
  absl::StatusOr<realtime::OfflineRenderStats> stats = realtime::render_offline(
      render_options, has_take ? static_cast<realtime::ProcessCallback&>(mixer) : band,
      before_period);
  if (!stats.ok()) return stats.status();
  if (!failure.ok()) return failure;
  result.render = *stats;
  result.playhead_tick_end = scheduler.playhead_tick();
  result.events_late = scheduler.counters().events_late.load();
  const JamRecord* record = (*conductor)->record(kJam);
  if (record == nullptr) return absl::InternalError("the jam vanished from the conductor (a bug)");
  result.record = *record;
  for (const auto& [bar, r] : record->bars) {
    result.tokens_generated += r.tokens_generated;
    result.generation_ms += r.generation_ms;
  }
  return result;
}

}  // namespace jamd
