// `jamd render [--input human.(mid|wav)] --out jam.wav [--midi-out jam.mid] [--report report.json]
// ...`: the whole live loop (listener, conductor, scheduler, synth) on the virtual clock, as fast
// as possible; the same seed gives byte-identical files.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <span>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "daemon/commands/cli_args.h"
#include "daemon/conductor/offline_jam.h"

namespace jamd {
namespace {

using cli::parse_key;
using cli::parse_number;
using cli::parse_parts;

constexpr const char* kUsage =
    "usage: jamd render [--input HUMAN.mid|HUMAN.wav] --out JAM.wav [--midi-out JAM.mid]\n"
    "                   [--report REPORT.json] [--parts drums,bass,keys] [--seed N] [--bars N]\n"
    "                   [--mode auto|accompany|continue|call] [--temperature T] [--density D]\n"
    "                   [--key TONIC:maj|min]\n"
    "                   [--tempo BPM] [--commit-ms MS] [--model PATH] [--soundfont SF]\n"
    "                   [--backend auto|cpu|cuda] [--precision fp32|bf16]\n"
    "\n"
    "Jams offline: the musician's MIDI file is played into the mix and heard by the listener, the\n"
    "conductor generates the band around it bar by bar with the model, and everything is\n"
    "rendered on the virtual clock as fast as possible, by the same code as a live jam.\n"
    "  --input FILE     the musician: a Standard MIDI File, or a WAV take (mixed in, heard\n"
    "                   through the listener's audio path, tempo from its beats); without it\n"
    "                   the band plays alone\n"
    "  --out FILE       the mix as a 16-bit stereo 48 kHz WAV\n"
    "  --midi-out FILE  the jam as a multi-track MIDI file (musician and each band part)\n"
    "  --report FILE    JSON: per bar the chords heard, the band's chords, tokens, generation ms\n"
    "  --parts LIST     band parts (default drums,bass,keys)\n"
    "  --seed N         the generator's seed (default 1); the same seed gives the same files\n"
    "  --bars N         bars to play (default: the input's length, or 8 without input)\n"
    "  --mode M         auto (default: accompany while the musician plays), accompany, continue,\n"
    "                   call (call and response: the lead answers in the musician's rests)\n"
    "  --temperature T  sampling temperature 0.1..2 (default 1)\n"
    "  --density D      0..1, every part's density (default 0.5)\n"
    "  --key K          C:maj, A:min, ... (default: the model chooses)\n"
    "  --tempo BPM      without --input (default 120); with it the file's tempo is used\n"
    "  --commit-ms MS   the commit horizon: notes this close to the playhead are frozen (default "
    "30)\n"
    "  --model PATH     model file (default: the bundled models/band.jamd)\n"
    "  --soundfont SF   'default' (TimGM6mb), 'fluidr3', or a .sf2 path\n"
    "  --backend B      auto (default: CUDA when a GPU works, else the CPU), cpu or cuda\n"
    "  --precision P    fp32 (default: the reference arithmetic, as the tests render it) or\n"
    "                   bf16 (what a live jam uses: faster, within about 1e-2)\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "jamd render: %s; see 'jamd render --help'\n", message.c_str());
  return 2;
}

struct RenderArgs {
  OfflineJamOptions jam;
  std::string midi_path;
  std::string report_path;
};

// Parses one option and its value; false when the value is not valid.
bool parse_option(std::string_view a, const char* v, RenderArgs& r) {
  double n = 0;
  OfflineJamOptions& o = r.jam;
  if (a == "--input")
    o.input_path = v;
  else if (a == "--out")
    o.wav_path = v;
  else if (a == "--midi-out")
    r.midi_path = v;
  else if (a == "--report")
    r.report_path = v;
  else if (a == "--model")
    o.model_path = v;
  else if (a == "--soundfont")
    o.soundfont = v;
  else if (a == "--backend") {
    absl::StatusOr<models::BackendKind> kind = models::parse_backend_kind(v);
    if (!kind.ok()) return false;
    o.backend = *kind;
  } else if (a == "--precision") {
    const std::string_view p = v;
    if (p != "bf16" && p != "fp32") return false;
    o.precision = p == "bf16" ? models::Precision::kReduced : models::Precision::kFloat32;
  } else if (a == "--parts")
    return parse_parts(v, o.state);
  else if (a == "--key")
    return parse_key(v, o.state);
  else if (a == "--seed" && parse_number(v, 1, 1.8e19, n))
    o.state.seed = std::strtoull(v, nullptr, 10);
  else if (a == "--bars" && parse_number(v, 1, 100000, n))
    o.bars = static_cast<int64_t>(n);
  else if (a == "--temperature" && parse_number(v, 0.1, 2, n))
    o.state.temperature = static_cast<float>(n);
  else if (a == "--density" && parse_number(v, 0, 1, n))
    o.state.density = static_cast<float>(n);
  else if (a == "--tempo" && parse_number(v, 30, 300, n))
    o.state.tempo_bpm = n;
  else if (a == "--commit-ms" && parse_number(v, 0, 10000, n))
    o.horizons.commit_horizon_ms = n;
  else if (a == "--mode") {
    const std::string_view m = v;
    if (m == "auto")
      o.state.mode = JamMode::kAuto;
    else if (m == "accompany")
      o.state.mode = JamMode::kAccompany;
    else if (m == "continue")
      o.state.mode = JamMode::kContinue;
    else if (m == "call")
      o.state.mode = JamMode::kCallAndResponse;
    else
      return false;
  } else {
    return false;
  }
  return true;
}

bool write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out.flush());
}

}  // namespace

int run_render(std::span<const char* const> args) {
  RenderArgs r;
  r.jam.model_path = JAMD_SOURCE_DIR "/models/band.jamd";
  r.jam.state.seed = 1;
  r.jam.state.tempo_bpm = 120.0;
  r.jam.state.key_tonic = -1;  // the model (and the musician's chords) choose
  r.jam.state.density = 0.5f;
  r.jam.state.parts[kPartPad].enabled = false;
  r.jam.state.parts[kPartLead].enabled = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "--help" || a == "-h") {
      std::printf("%s", kUsage);
      return 0;
    }
    if (!a.starts_with("--") || i + 1 >= args.size()) {
      return usage_error(absl::StrCat("bad or incomplete option '", std::string(a), "'"));
    }
    const char* value = args[++i];
    if (!parse_option(a, value, r)) {
      return usage_error(absl::StrCat("bad value '", value, "' for ", std::string(a)));
    }
  }
  if (r.jam.wav_path.empty()) return usage_error("give the output file with --out JAM.wav");
  absl::StatusOr<OfflineJamResult> jam = render_jam(r.jam);
  if (!jam.ok()) {
    std::fprintf(stderr, "jamd render: %s\n", std::string(jam.status().message()).c_str());
    return 1;
  }
  if (!r.midi_path.empty()) {
    if (absl::Status s = write_jam_midi(r.midi_path, *jam); !s.ok()) {
      std::fprintf(stderr, "jamd render: %s; pick a writable --midi-out\n",
                   std::string(s.message()).c_str());
      return 1;
    }
  }
  if (!r.report_path.empty() && !write_text(r.report_path, jam_report_json(*jam))) {
    std::fprintf(stderr, "jamd render: cannot write '%s'; pick a writable --report\n",
                 r.report_path.c_str());
    return 1;
  }
  const double audio_s = static_cast<double>(jam->render.frames) / jam->sample_rate_hz;
  std::printf("jamd render: %lld bars at %.1f BPM, %.1f s of audio in %.2f s (%.1fx real time)\n",
              static_cast<long long>(jam->bars), jam->tempo_bpm, audio_s, jam->render.wall_seconds,
              jam->render.speed_x_real_time);
  std::printf("  %lld band notes, %lld tokens generated in %.0f ms on %s\n",
              static_cast<long long>(jam->record.band_notes.size()),
              static_cast<long long>(jam->tokens_generated), jam->generation_ms,
              jam->backend.c_str());
  std::printf("  wrote %s%s%s%s%s\n", r.jam.wav_path.c_str(), r.midi_path.empty() ? "" : ", ",
              r.midi_path.c_str(), r.report_path.empty() ? "" : ", ", r.report_path.c_str());
  return 0;
}

}  // namespace jamd
