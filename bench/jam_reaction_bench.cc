// jam_reaction_bench: how fast the jam loop reacts, end to end, with the bundled model.
//
// Live part: the Conductor on its own thread, the band (scheduler + FluidSynth) on a virtual
// clock paced in real time, a musician playing block chords that change at random every two
// beats (fed to the Listener's MIDI path as jamd:midi_in would carry them, heard events posted to
// the conductor), and steering changes (density and energy) posted at random times from this
// thread. Measured from the frames the record keeps:
//   steering -> sound: the playhead when post_state() was called -> onset of the first note
//                      generated under the change (the conductor's "steering" reactions, matched
//                      in order);
//   chord -> band:     the musician's chord change (its first beat) -> onset of the first bass
//                      or keys note with a pitch class of the new chord that the old one lacks
//                      (misses: none before the next change).
// Offline part: the same musician through render_jam() (virtual clock as fast as possible, so
// generation takes no time), at the default commit horizon and at one beat, for comparison, and
// the take rendered by the synth to a WAV and heard through the listener's audio path (its tempo
// and first beat found by the listener; target: the band on the new chord within 1.5 beats).
//
//   jam_reaction_bench [--seconds 60] [--tempo 120] [--commit-ms 30] [--plan-beats 2] [--seed 1]
//                      [--precision bf16|fp32] [--midi-chord-beats 0.25] [--model models/band.jamd]
//                      [--answer-tone 3] [--offline-only] [--explain]
// --explain lists every missed chord change with the bass (b) and keys (k) notes in its two
// beats (grid step, pitch class; '*': a tone of the new chord that the old one lacks).
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "daemon/conductor/conductor.h"
#include "daemon/conductor/offline_jam.h"
#include "realtime/core/song.h"
#include "realtime/io/virtual_io.h"
#include "realtime/listen/listen_file.h"
#include "realtime/listen/listener.h"
#include "realtime/midi/midi_file.h"
#include "realtime/synth/band.h"
#include "realtime/synth/song_render.h"
#include "realtime/synth/synth.h"
#include "tests/daemon/conductor/chord_take.h"

namespace jamd {
namespace {

constexpr uint32_t kRate = 48000;
constexpr int kTpq = 480;
constexpr int kBeatsPerChord = 2;

struct Options {
  double seconds = 60.0;
  double tempo_bpm = 120.0;
  double commit_ms = Horizons{}.commit_horizon_ms;
  double plan_beats = Horizons{}.planning_horizon_beats;
  uint64_t seed = 1;
  bool bf16 = true;  // the live default (ConductorOptions::precision)
  // The musician's chord decision, as render_jam() sets it for MIDI.
  double midi_chord_beats = OfflineJamOptions{}.midi_chord_decision_beats;
  std::string model = JAMD_SOURCE_DIR "/models/band.jamd";
  float answer_tone = ConductorOptions{}.pitch_bias.answer_tone;
  bool live = true;      // false: the offline part only (quick, deterministic)
  bool explain = false;  // list the missed chord changes and the band's notes in them
};

struct Triad {
  int root = 0;
  bool minor = false;
  uint16_t mask() const {
    return static_cast<uint16_t>((1u << root) | (1u << ((root + (minor ? 3 : 4)) % 12)) |
                                 (1u << ((root + 7) % 12)));
  }
};

// Random diatonic triads in C, a new one every kBeatsPerChord beats, as block chords on every
// beat; the chord list comes back through `chords` (one per change).
realtime::MidiFile random_chord_musician(double tempo_bpm, int n_changes, uint64_t seed,
                                         std::vector<Triad>* chords) {
  const Triad pool[] = {{0, false}, {2, true}, {4, true}, {5, false}, {7, false}, {9, true}};
  std::mt19937_64 rng(seed);
  std::vector<TakeChord> take;
  for (int i = 0; i < n_changes; ++i) {
    Triad c = pool[rng() % 6];
    while (!chords->empty() && c.root == chords->back().root) c = pool[rng() % 6];
    chords->push_back(c);
    take.push_back({c.root, c.minor, kBeatsPerChord});
  }
  return block_chord_take(tempo_bpm, take, 0);
}

// Chord -> band latencies in beats (a miss: +infinity), from the band's notes in ticks.
std::vector<double> chord_latencies_beats(const std::vector<TimedNote>& band,
                                          const std::vector<Triad>& chords, int first_change,
                                          size_t n_changes) {
  std::vector<double> out;
  for (size_t i = static_cast<size_t>(std::max(1, first_change));
       i < std::min(n_changes, chords.size()); ++i) {
    const int64_t begin = static_cast<int64_t>(i) * kBeatsPerChord * kTpq;
    const int64_t end = begin + kBeatsPerChord * kTpq;
    const uint16_t fresh = chords[i].mask() & static_cast<uint16_t>(~chords[i - 1].mask());
    int64_t first = -1;
    for (const TimedNote& n : band) {
      if ((n.part != kPartBass && n.part != kPartKeys) || n.tick < begin || n.tick >= end) continue;
      if ((fresh >> (n.pitch % 12) & 1) && (first < 0 || n.tick < first)) first = n.tick;
    }
    out.push_back(first < 0 ? INFINITY : static_cast<double>(first - begin) / kTpq);
  }
  return out;
}

// Why a change was missed: the bass and keys notes in its window (grid offset, part, pitch
// class), '*' on those of the new chord's fresh tones.
void explain_misses(const JamRecord& record, const std::vector<Triad>& chords, size_t n_changes,
                    double tempo_bpm, const char* what) {
  const std::vector<TimedNote>& band = record.band_notes;
  const double ticks_per_frame = tempo_bpm / 60.0 * kTpq / kRate;
  static const char* kNames[] = {"C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"};
  for (size_t i = 1; i < std::min(n_changes, chords.size()); ++i) {
    const int64_t begin = static_cast<int64_t>(i) * kBeatsPerChord * kTpq;
    const int64_t end = begin + kBeatsPerChord * kTpq;
    const uint16_t fresh = chords[i].mask() & static_cast<uint16_t>(~chords[i - 1].mask());
    std::string line;
    bool hit = false;
    for (const TimedNote& n : band) {
      if ((n.part != kPartBass && n.part != kPartKeys) || n.tick < begin || n.tick >= end) continue;
      const bool f = fresh >> (n.pitch % 12) & 1;
      hit = hit || f;
      line += " " + std::to_string((n.tick - begin) / 40) + (n.part == kPartBass ? "b" : "k") +
              kNames[n.pitch % 12] + (f ? "*" : "");
    }
    if (hit) continue;
    for (const Reaction& r : record.reactions) {
      const auto tick = static_cast<int64_t>(static_cast<double>(r.event_frame) * ticks_per_frame);
      if (tick < begin - kTpq || tick >= end) continue;
      line +=
          " [" + r.cause + " at " + std::to_string((tick - begin) / 40) + ", sounds at " +
          std::to_string(
              (static_cast<int64_t>(static_cast<double>(r.sound_frame) * ticks_per_frame) - begin) /
              40) +
          "]";
    }
    std::printf("%s miss: change %zu (bar %lld beat %lld) %s%s -> %s%s:%s\n", what, i,
                static_cast<long long>(begin / (4 * kTpq)),
                static_cast<long long>(begin % (4 * kTpq) / kTpq), kNames[chords[i - 1].root],
                chords[i - 1].minor ? "m" : "", kNames[chords[i].root], chords[i].minor ? "m" : "",
                line.c_str());
  }
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

void print_row(const char* what, const std::vector<double>& ms, double beat_ms) {
  int misses = 0;
  for (double x : ms) misses += std::isinf(x);
  std::printf("| %-44s | %4zu | %7.0f | %7.0f | %7.0f | %5.2f | %5.2f | %5d |\n", what, ms.size(),
              percentile(ms, 0.5), percentile(ms, 0.9), percentile(ms, 0.99),
              percentile(ms, 0.5) / beat_ms, percentile(ms, 0.99) / beat_ms, misses);
}

JamState bench_state(const Options& o) {
  JamState s;
  s.tempo_bpm = o.tempo_bpm;
  s.key_tonic = -1;
  s.density = 0.5f;
  s.mode = JamMode::kAccompany;
  s.seed = o.seed;
  s.parts[kPartPad].enabled = false;
  s.parts[kPartLead].enabled = false;
  return s;
}

struct LiveResult {
  JamRecord record;
  std::vector<int64_t> steer_frames;
  uint64_t events_played = 0, events_late = 0, late_frames_max = 0;
  std::string backend;
};

// One live jam of o.seconds: with `timeline` as the musician (heard through the Listener), and
// steering posted at random times when `steer`.
absl::StatusOr<LiveResult> run_live(const Options& o, const JamState& state,
                                    const std::vector<realtime::TimedMidiMessage>& timeline,
                                    bool steer) {
  auto synth = realtime::Synth::create({.sample_rate_hz = kRate});
  if (!synth.ok()) return synth.status();
  realtime::Scheduler scheduler({.sample_rate_hz = kRate,
                                 .ticks_per_quarter = kTpq,
                                 .tempo_bpm = o.tempo_bpm,
                                 .max_events = 65536});
  realtime::Band band(scheduler, **synth);
  ConductorOptions conductor_options{.model_path = o.model};
  conductor_options.precision = o.bf16 ? models::Precision::kReduced : models::Precision::kFloat32;
  conductor_options.horizons.commit_horizon_ms = o.commit_ms;
  conductor_options.horizons.planning_horizon_beats = o.plan_beats;
  conductor_options.pitch_bias.answer_tone = o.answer_tone;
  auto conductor = Conductor::create(conductor_options);
  if (!conductor.ok()) return conductor.status();
  (*conductor)->add_jam(1, state, scheduler, {.sample_rate_hz = kRate, .tempo_bpm = o.tempo_bpm});
  (*conductor)->start();
  auto io = realtime::make_virtual_io({.sample_rate_hz = kRate, .period_frames = 256});
  if (absl::Status s = io->start(&band); !s.ok()) return s;

  LiveResult result;
  realtime::Listener listener(
      {.sample_rate_hz = kRate, .chord_decision_beats = o.midi_chord_beats});
  std::mt19937_64 rng(o.seed * 7919);
  std::uniform_real_distribution<double> gap_s(0.6, 1.6);
  double next_steer_s = 2.0 + gap_s(rng);
  size_t next_heard = 0;
  const auto end = static_cast<int64_t>(o.seconds * kRate);
  for (int64_t now = 0; now < end;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    now = static_cast<int64_t>(scheduler.playhead_frame());
    const size_t from = next_heard;
    while (next_heard < timeline.size() && static_cast<int64_t>(timeline[next_heard].frame) < now) {
      ++next_heard;
    }
    listener.feed_midi(std::span(timeline).subspan(from, next_heard - from));
    listener.advance_to(now);
    for (const realtime::HeardEvent& e : listener.drain()) (*conductor)->post_heard(1, e);
    if (steer && static_cast<double>(now) / kRate >= next_steer_s) {
      JamState steered = state;
      const bool up = result.steer_frames.size() % 2 == 0;
      steered.density = up ? 0.9f : 0.3f;
      steered.energy = up ? 0.9f : 0.3f;
      result.steer_frames.push_back(static_cast<int64_t>(scheduler.playhead_frame()));
      (*conductor)->post_state(1, steered);
      next_steer_s += gap_s(rng);
    }
  }
  (*conductor)->stop();
  io->stop();
  if (!(*conductor)->status().ok()) return (*conductor)->status();
  result.record = *(*conductor)->record(1);
  result.events_played = scheduler.counters().events_played.load();
  result.events_late = scheduler.counters().events_late.load();
  result.late_frames_max = scheduler.counters().late_frames_max.load();
  result.backend = (*conductor)->backend_description();
  return result;
}

void print_generation(const char* what, const LiveResult& r, const Options& o) {
  int64_t tokens = 0;
  double ms = 0.0;
  for (const auto& [bar, b] : r.record.bars) {
    tokens += b.tokens_generated;
    ms += b.generation_ms;
  }
  std::array<int, kNumParts> per_part{};
  std::vector<int64_t> onsets;
  for (const TimedNote& n : r.record.band_notes) {
    ++per_part[static_cast<size_t>(n.part)];
    onsets.push_back(n.tick);
  }
  std::sort(onsets.begin(), onsets.end());
  onsets.erase(std::unique(onsets.begin(), onsets.end()), onsets.end());
  const double bars = o.seconds * o.tempo_bpm / 60.0 / 4.0;
  std::printf("%s: per bar %.1f drums, %.1f bass, %.1f keys notes; %.1f distinct onsets\n", what,
              per_part[kPartDrums] / bars, per_part[kPartBass] / bars, per_part[kPartKeys] / bars,
              static_cast<double>(onsets.size()) / bars);
  std::printf(
      "%s: %lld tokens in %.0f ms (%.0f tokens/s while generating, %.0f%% of the wall "
      "time); %llu events played, %llu late (max %.1f ms), %lld refused\n",
      what, static_cast<long long>(tokens), ms,
      1000.0 * static_cast<double>(tokens) / std::max(1.0, ms), ms / (10.0 * o.seconds),
      static_cast<unsigned long long>(r.events_played),
      static_cast<unsigned long long>(r.events_late),
      1000.0 * static_cast<double>(r.late_frames_max) / kRate,
      static_cast<long long>(r.record.notes_refused));
}

int run(const Options& o) {
  const double beat_ms = 60000.0 / o.tempo_bpm;
  const int n_changes = static_cast<int>(o.seconds * 1000.0 / beat_ms / kBeatsPerChord) + 2;
  std::vector<Triad> chords;
  const realtime::MidiFile midi = random_chord_musician(o.tempo_bpm, n_changes, o.seed, &chords);
  int64_t end_frame = 0;
  const std::vector<realtime::TimedMidiMessage> timeline =
      realtime::midi_timeline(midi, kRate, &end_frame);

  // Steering: the band alone (continue mode: drums play), density and energy flipped.
  JamState alone = bench_state(o);
  alone.mode = JamMode::kContinue;
  absl::StatusOr<LiveResult> steered = o.live ? run_live(o, alone, {}, true) : LiveResult{};
  if (!steered.ok()) return std::fprintf(stderr, "%s\n", steered.status().ToString().c_str()), 1;
  std::vector<double> steer_ms, apply_ms;
  size_t k = 0;
  for (const Reaction& r : steered->record.reactions) {
    if (r.cause != "steering" || k >= steered->steer_frames.size()) continue;
    const int64_t posted = steered->steer_frames[k++];
    steer_ms.push_back(1000.0 * static_cast<double>(r.sound_frame - posted) / kRate);
    apply_ms.push_back(1000.0 * static_cast<double>(r.event_frame - posted) / kRate);
  }
  // Chords: the musician, accompanied.
  absl::StatusOr<LiveResult> accompanied =
      o.live ? run_live(o, bench_state(o), timeline, false) : LiveResult{};
  if (!accompanied.ok()) {
    return std::fprintf(stderr, "%s\n", accompanied.status().ToString().c_str()), 1;
  }
  std::vector<double> chord_live_ms, chord_reaction_ms;
  // Live, the changes whose two beats end before the run does (the take is longer).
  const auto live_changes = static_cast<size_t>(o.seconds * 1000.0 / beat_ms / kBeatsPerChord);
  for (double beats :
       chord_latencies_beats(accompanied->record.band_notes, chords, 1, live_changes)) {
    chord_live_ms.push_back(beats * beat_ms);
  }
  for (const Reaction& r : accompanied->record.reactions) {
    if (r.cause == "chord") chord_reaction_ms.push_back(r.ms);
  }
  if (o.explain && o.live)
    explain_misses(accompanied->record, chords, live_changes, o.tempo_bpm, "live");

  // Offline, same musician, at this horizon and at one beat.
  const std::string path =
      (std::filesystem::temp_directory_path() / "jam_reaction_bench_musician.mid").string();
  if (!realtime::write_midi_file(path, midi).ok()) return 1;
  // The same take as audio (rendered by the synth, heard through the listener's audio path).
  const std::string wav_path =
      (std::filesystem::temp_directory_path() / "jam_reaction_bench_musician.wav").string();
  absl::StatusOr<realtime::Song> song = realtime::song_from_midi(midi);
  if (!song.ok() ||
      !realtime::render_song_to_wav(*song, {.wav_path = wav_path, .tail_seconds = 0.0}).ok()) {
    return std::fprintf(stderr, "could not render the take to %s\n", wav_path.c_str()), 1;
  }
  std::vector<double> chord_offline_ms[3];
  double offline_speed[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    OfflineJamOptions offline;
    offline.input_path = i == 2 ? wav_path : path;
    offline.model_path = o.model;
    offline.state = bench_state(o);
    offline.horizons.commit_horizon_ms = i == 1 ? -1.0 : o.commit_ms;
    offline.horizons.planning_horizon_beats = o.plan_beats;
    absl::StatusOr<OfflineJamResult> r = render_jam(offline);
    if (!r.ok()) return std::fprintf(stderr, "%s\n", r.status().ToString().c_str()), 1;
    offline_speed[i] = r->render.speed_x_real_time;
    for (double beats : chord_latencies_beats(r->record.band_notes, chords, 1, chords.size())) {
      chord_offline_ms[i].push_back(beats * beat_ms);
    }
    if (o.explain && i != 1) {
      explain_misses(r->record, chords, chords.size(), o.tempo_bpm,
                     i == 0 ? "offline" : "offline audio");
    }
  }

  std::printf(
      "jam_reaction_bench: %.0f s live twice at %.0f BPM (a beat is %.0f ms), commit "
      "horizon %.0f ms, planning horizon %.1f beats, %s, %s\n",
      o.seconds, o.tempo_bpm, beat_ms, o.commit_ms, o.plan_beats, o.bf16 ? "bf16" : "fp32",
      steered->backend.c_str());
  std::printf("| what | n | p50 ms | p90 ms | p99 ms | p50 beats | p99 beats | misses |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
  print_row("steering -> first note under it (live)", steer_ms, beat_ms);
  print_row("  of which: post -> applied by the conductor", apply_ms, beat_ms);
  print_row("chord change -> band on it (live, MIDI)", chord_live_ms, beat_ms);
  print_row("  conductor's chord reactions (heard -> note)", chord_reaction_ms, beat_ms);
  print_row("chord change -> band on it (offline, horizon)", chord_offline_ms[0], beat_ms);
  print_row("chord change -> band on it (offline, 1 beat)", chord_offline_ms[1], beat_ms);
  print_row("chord change -> band on it (offline, audio in)", chord_offline_ms[2], beat_ms);
  if (o.live) {
    print_generation("live, steering", *steered, o);
    print_generation("live, chords", *accompanied, o);
  }
  std::printf("offline render %.1fx / %.1fx / %.1fx real time\n", offline_speed[0],
              offline_speed[1], offline_speed[2]);
  return 0;
}

}  // namespace
}  // namespace jamd
int main(int argc, char** argv) {
  jamd::Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : "";
    if (a == "--seconds")
      o.seconds = std::atof(v), ++i;
    else if (a == "--tempo")
      o.tempo_bpm = std::atof(v), ++i;
    else if (a == "--commit-ms")
      o.commit_ms = std::atof(v), ++i;
    else if (a == "--plan-beats")
      o.plan_beats = std::atof(v), ++i;
    else if (a == "--seed")
      o.seed = std::strtoull(v, nullptr, 10), ++i;
    else if (a == "--model")
      o.model = v, ++i;
    else if (a == "--precision" && (std::string_view(v) == "bf16" || std::string_view(v) == "fp32"))
      o.bf16 = std::string_view(v) == "bf16", ++i;
    else if (a == "--answer-tone")
      o.answer_tone = static_cast<float>(std::atof(v)), ++i;
    else if (a == "--offline-only")
      o.live = false;
    else if (a == "--explain")
      o.explain = true;
    else if (a == "--midi-chord-beats")
      o.midi_chord_beats = std::atof(v), ++i;
    else {
      std::fprintf(stderr,
                   "usage: jam_reaction_bench [--seconds S] [--tempo BPM] [--commit-ms MS] "
                   "[--plan-beats BEATS] "
                   "[--seed N] [--model PATH] [--precision bf16|fp32] "
                   "[--midi-chord-beats B] [--answer-tone NATS] [--offline-only] [--explain]\n");
      return 2;
    }
  }
  return jamd::run(o);
}
