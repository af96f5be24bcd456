// listen_bench: the listener against ground truth. Renders a set of takes (styles, keys, tempi,
// a ramp, silence, noise, two GM instruments), listens to each from audio and from MIDI, runs
// aubio's own beat tracker (`aubio beat`) on the same audio in the same run, and prints a table
// of beat F-measure, tempo error, chord accuracy, latencies and CPU.
//
//   build-h3/bench/listen_bench [--quick] [--out results.tsv] [--keep-wavs DIR] [--take NAME_PART]
//   LISTEN_BENCH_DEBUG=<take> prints what each path heard per beat; LISTEN_BENCH_NOTES=1 prints
//   each melody note beside the note heard.
#include <sndfile.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "realtime/listen/listen_file.h"
#include "tests/realtime/listen/takes.h"

namespace {

using jamd::realtime::HeardEvent;
using jamd::realtime::HeardKind;
using jamd::realtime::ListenFileOptions;
using jamd::realtime::ListenResult;
using namespace jamd::realtime::testing;

constexpr double kBeatToleranceS = 0.07;      // the usual beat F-measure window (MIREX)
constexpr int kSkipBeats = 4;                 // targets count after the first 4 beats
constexpr double kEarlyDecisionBeats = 0.25;  // ListenerOptions::chord_decision_beats, MIDI

std::vector<TakeSpec> take_set(bool quick) {
  std::vector<TakeSpec> s = benchmark_takes();
  if (quick) s.resize(4);
  return s;
}

bool steady(const TakeSpec& s) { return s.end_tempo_bpm <= 0 && s.silence_from_bar < 0; }

void write_wav(const std::string& path, const Take& take) {
  SF_INFO info{};
  info.samplerate = static_cast<int>(take.sample_rate_hz);
  info.channels = take.channels;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  if (f == nullptr) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
  sf_writef_float(f, take.audio.data(), static_cast<sf_count_t>(take.audio.size() / take.channels));
  sf_close(f);
}

// aubio's beat tracker on the same audio: beat times in seconds, or empty when the tool is
// missing (scripts/setup.sh installs aubio-tools).
std::vector<double> aubio_beats(const std::string& wav, double* wall_s) {
  const std::string out = wav + ".aubio.txt";
  const auto t0 = std::chrono::steady_clock::now();
  const std::string cmd = "aubio beat '" + wav + "' > '" + out + "' 2>/dev/null";
  const int rc = std::system(cmd.c_str());
  *wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<double> beats;
  if (rc != 0) return beats;  // NOLINT: the tool is optional
  std::ifstream in(out);
  double t;
  while (in >> t) beats.push_back(t);
  return beats;
}

double aubio_tempo_error(const std::vector<double>& beats, const Take& take, double from_s) {
  double sum = 0;
  int n = 0;
  for (size_t i = 1; i < beats.size(); ++i) {
    if (beats[i] < from_s) continue;
    const double bpm = 60.0 / (beats[i] - beats[i - 1]);
    size_t k = 0;
    double best = 1e9;
    for (size_t j = 0; j < take.beats_s.size(); ++j) {
      if (std::abs(take.beats_s[j] - beats[i]) < best)
        best = std::abs(take.beats_s[j] - beats[i]), k = j;
    }
    sum += std::abs(bpm - take.tempo_bpm[k]) / take.tempo_bpm[k];
    ++n;
  }
  return n ? sum / n : 1.0;
}

// Mean onset latency (decided - true) of heard notes matched to melody notes, in ms; and the
// fraction of melody notes heard with the right pitch within 50 ms.
double note_scores(const ListenResult& r, const Take& take, double* pitch_recall) {
  double sum = 0;
  int n = 0, right = 0;
  for (const auto& [t, key] : take.melody_onsets) {
    const HeardEvent* best = nullptr;
    double best_d = 0.05;
    for (const HeardEvent& e : r.events) {
      if (e.kind != HeardKind::kNoteOn) continue;
      const double d = std::abs(static_cast<double>(e.frame) / r.sample_rate_hz - t);
      if (d <= best_d) best_d = d, best = &e;
    }
    if (std::getenv("LISTEN_BENCH_NOTES") != nullptr) {  // each melody note and what was heard
      if (best == nullptr) {
        std::printf("note %.3f s key %d: none within 50 ms\n", t, key);
      } else {
        std::printf("note %.3f s key %d: heard %d at %+.0f ms, decided at %+.0f ms\n", t, key,
                    best->pitch, 1000 * (static_cast<double>(best->frame) / r.sample_rate_hz - t),
                    1000 * (static_cast<double>(best->decided_frame) / r.sample_rate_hz - t));
      }
    }
    if (best == nullptr) continue;
    if (best->pitch == key) ++right;
    sum += 1000.0 * (static_cast<double>(best->decided_frame) / r.sample_rate_hz - t);
    ++n;
  }
  *pitch_recall =
      take.melody_onsets.empty() ? 0 : static_cast<double>(right) / take.melody_onsets.size();
  return n ? sum / n : 0;
}

// Per beat: the true beat, chord and tempo beside what each path heard nearest to it.
void print_debug(const Take& take, const ListenResult& audio, const ListenResult& midi) {
  auto nearest = [](const ListenResult& r, HeardKind kind, double t) -> const HeardEvent* {
    const HeardEvent* best = nullptr;
    double best_d = 0.2;
    for (const HeardEvent& e : r.events) {
      const double d = std::abs(static_cast<double>(e.frame) / r.sample_rate_hz - t);
      if (e.kind == kind && d < best_d) best_d = d, best = &e;
    }
    return best;
  };
  for (size_t k = 0; k < take.beats_s.size(); ++k) {
    const double t = take.beats_s[k];
    std::printf("%3zu %7.3f %-7s %6.1f |", k, t, jamd::realtime::chord_name(take.chords[k]).c_str(),
                take.tempo_bpm[k]);
    for (const ListenResult* r : {&audio, &midi}) {
      const HeardEvent* b = nearest(*r, HeardKind::kBeat, t);
      const HeardEvent* c = nearest(*r, HeardKind::kChord, t);
      std::printf(" %+6.0fms %6.1f %-8s|",
                  b ? 1000 * (static_cast<double>(b->frame) / r->sample_rate_hz - t) : NAN,
                  b ? b->tempo_bpm : NAN, c ? jamd::realtime::chord_name(c->chord).c_str() : "-");
    }
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::string out_path, keep_dir, only;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick")
      quick = true;
    else if (a == "--out" && i + 1 < argc)
      out_path = argv[++i];
    else if (a == "--keep-wavs" && i + 1 < argc)
      keep_dir = argv[++i];
    else if (a == "--take" && i + 1 < argc)
      only = argv[++i];
    else {
      std::fprintf(stderr,
                   "usage: listen_bench [--quick] [--out FILE.tsv] [--keep-wavs DIR] [--take "
                   "NAME_PART]\n");
      return 2;
    }
  }
  const std::filesystem::path dir =
      keep_dir.empty() ? std::filesystem::temp_directory_path() / "jamd_listen_bench"
                       : std::filesystem::path(keep_dir);
  std::filesystem::create_directories(dir);
  std::ostringstream table;
  table << "take\tsteady\tbeatF_audio\ttempo_err_audio\tbeatF_aubio\ttempo_err_aubio\tbeatF_midi\t"
           "chord_acc_audio\tchord_acc_midi\tchord_lat_audio_ms\tchord_lat_audio_beats\t"
           "chord_lat_midi_ms\tchord_acc_midi_q\tchord_lat_midi_q_ms\tchord_lat_midi_q_beats\t"
           "beat_lat_ms\tnote_lat_ms\tnote_pitch_recall\tcpu_audio_pct\tcpu_"
           "aubio_pct\n";
  double sum_f = 0, sum_fa = 0, sum_t = 0, sum_ta = 0, sum_ca = 0, sum_cm = 0, sum_cpu = 0;
  double sum_lat = 0, sum_lat_beats = 0, sum_lat_midi = 0, sum_note_lat = 0;
  double sum_cm_early = 0, sum_lat_early = 0, sum_lat_beats_midi = 0, sum_lat_beats_early = 0;
  int n_melody = 0;
  int n_steady = 0, n_chord = 0, n_all = 0;
  for (const TakeSpec& spec : take_set(quick)) {
    if (!only.empty() && spec.name.find(only) == std::string::npos) continue;
    const Take take = make_take(spec);
    const std::string wav = (dir / (spec.name + ".wav")).string();
    write_wav(wav, take);
    if (!keep_dir.empty()) {
      (void)jamd::realtime::write_midi_file((dir / (spec.name + ".mid")).string(), take.midi);
    }
    ListenFileOptions opts;
    const ListenResult audio =
        jamd::realtime::listen_audio(take.audio, take.channels, take.sample_rate_hz, opts);
    const ListenResult midi = jamd::realtime::listen_midi(take.midi, opts);
    // The chord decision earlier in the beat: MIDI block chords are whole at once.
    ListenFileOptions early_opts;
    early_opts.listener.chord_decision_beats = kEarlyDecisionBeats;
    const ListenResult midi_early = jamd::realtime::listen_midi(take.midi, early_opts);
    if (const char* debug = std::getenv("LISTEN_BENCH_DEBUG"); debug && spec.name == debug) {
      print_debug(take, audio, midi);
    }
    double aubio_wall = 0;
    const std::vector<double> ab = aubio_beats(wav, &aubio_wall);
    const double from = take.beats_s[kSkipBeats] - 0.01;
    double to = 1e9;
    if (spec.silence_from_bar >= 0)
      to = take.beats_s[spec.silence_from_bar * spec.beats_per_bar] - 0.2;
    const double f_audio =
        beat_f_measure(heard_beats_s(audio), take.beats_s, kBeatToleranceS, from, to);
    const double f_midi =
        beat_f_measure(heard_beats_s(midi), take.beats_s, kBeatToleranceS, from, to);
    const double f_aubio = beat_f_measure(ab, take.beats_s, kBeatToleranceS, from, to);
    const double t_audio = tempo_error(audio, take, from, to);
    const double t_aubio = aubio_tempo_error(ab, take, from);
    const bool has_chords = spec.style != Style::kMelody;
    const double ca = has_chords ? chord_accuracy(audio, take, kSkipBeats) : NAN;
    const double cm = has_chords ? chord_accuracy(midi, take, kSkipBeats) : NAN;
    double lat_beats = 0, lat_beats_midi = 0;
    const double lat_ms = chord_change_latency_ms(audio, take, &lat_beats);
    const double lat_ms_midi = chord_change_latency_ms(midi, take, &lat_beats_midi);
    double lat_beats_early = 0;
    const double cm_early = has_chords ? chord_accuracy(midi_early, take, kSkipBeats) : NAN;
    const double lat_ms_early = chord_change_latency_ms(midi_early, take, &lat_beats_early);
    double beat_lat_ms = 0;
    int n_beats_heard = 0;
    for (const HeardEvent& e : audio.events) {
      if (e.kind == HeardKind::kBeat && e.beat_index > 3) {  // not the beats reported at lock
        beat_lat_ms +=
            1000.0 * static_cast<double>(e.decided_frame - e.frame) / audio.sample_rate_hz;
        ++n_beats_heard;
      }
    }
    beat_lat_ms /= std::max(1, n_beats_heard);
    double pitch_recall = 0;
    const double note_lat = note_scores(audio, take, &pitch_recall);
    const double dur = static_cast<double>(take.audio.size() / take.channels) / take.sample_rate_hz;
    const double cpu = 100.0 * audio.wall_s / dur;
    const double cpu_aubio = 100.0 * aubio_wall / dur;
    char line[512];
    std::snprintf(line, sizeof line,
                  "%s\t%s\t%.3f\t%.4f\t%.3f\t%.4f\t%.3f\t%.3f\t%.3f\t%.0f\t%.2f\t%.0f\t%.3f\t%."
                  "0f\t%.2f\t%.0f\t%.1f\t%.2f\t%.2f\t%.2f\n",
                  spec.name.c_str(), steady(spec) ? "yes" : "no", f_audio, t_audio, f_aubio,
                  t_aubio, f_midi, ca, cm, lat_ms, lat_beats, lat_ms_midi, cm_early, lat_ms_early,
                  lat_beats_early, beat_lat_ms, spec.style == Style::kMelody ? note_lat : NAN,
                  spec.style == Style::kMelody ? pitch_recall : NAN, cpu, cpu_aubio);
    table << line;
    std::fputs(line, stdout);
    std::fflush(stdout);
    if (steady(spec)) {
      ++n_steady;
      sum_f += f_audio, sum_fa += f_aubio, sum_t += t_audio, sum_ta += t_aubio;
    }
    if (has_chords) {
      ++n_chord, sum_ca += ca, sum_cm += cm, sum_cm_early += cm_early;
      sum_lat_early += lat_ms_early, sum_lat_beats_midi += lat_beats_midi;
      sum_lat_beats_early += lat_beats_early;
      sum_lat += lat_ms, sum_lat_beats += lat_beats, sum_lat_midi += lat_ms_midi;
    }
    if (spec.style == Style::kMelody) ++n_melody, sum_note_lat += note_lat;
    ++n_all;
    sum_cpu += cpu;
    if (keep_dir.empty()) {
      std::filesystem::remove(wav);
      std::filesystem::remove(wav + ".aubio.txt");
    }
  }
  char summary[1024];
  std::snprintf(summary, sizeof summary,
                "mean over steady takes: beatF jamd %.3f aubio %.3f (ratio %.2f); tempo error jamd "
                "%.2f%% aubio %.2f%%\nmean chord accuracy per beat: audio %.3f, midi %.3f; "
                "chord latency audio %.0f ms (%.2f beat), midi %.0f ms (%.2f beat); MIDI "
                "decided at %.2f beat: chords %.3f, latency %.0f ms (%.2f beat); audio note "
                "latency %.1f ms; listener CPU %.2f%% of one core\n",
                sum_f / n_steady, sum_fa / n_steady,
                (sum_f / n_steady) / std::max(1e-9, sum_fa / n_steady), 100 * sum_t / n_steady,
                100 * sum_ta / n_steady, sum_ca / n_chord, sum_cm / n_chord,
                sum_lat / std::max(1, n_chord), sum_lat_beats / std::max(1, n_chord),
                sum_lat_midi / std::max(1, n_chord), sum_lat_beats_midi / std::max(1, n_chord),
                kEarlyDecisionBeats, sum_cm_early / n_chord, sum_lat_early / std::max(1, n_chord),
                sum_lat_beats_early / std::max(1, n_chord),
                n_melody ? sum_note_lat / n_melody : NAN, sum_cpu / n_all);
  std::fputs(table.str().substr(0, table.str().find('\n') + 1).c_str(), stdout);  // the header
  std::fputs(summary, stdout);
  if (!out_path.empty()) {
    std::ofstream(out_path) << table.str() << "# " << summary;
  }
  return 0;
}
