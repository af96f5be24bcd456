// `jamd generate --bars N --tempo BPM --key C:maj --parts drums,bass,keys --out band.mid`:
// generates a band offline with the bundled model (BandGenerator, batched steps) and writes a
// multi-track Standard MIDI File; the same seed and options give a byte-identical file.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "daemon/commands/cli_args.h"
#include "models/engine/backend_registry.h"
#include "models/engine/weight_file.h"
#include "models/generate/band_generator.h"
#include "models/tokenizer/tokenizer.h"
#include "realtime/midi/midi_file.h"

namespace jamd {
namespace {

using cli::parse_number;

using models::ChordQuality;
using models::ForcedChord;
using models::Role;

constexpr const char* kUsage =
    "usage: jamd generate --out FILE.mid [--bars N] [--tempo BPM] [--key TONIC:maj|min]\n"
    "                     [--parts drums,bass,keys,pad,lead] [--chords \"C:maj G:maj ...\"]\n"
    "                     [--seed N] [--temperature T] [--top-p P] [--top-k K]\n"
    "                     [--density drums=4,bass=3,...|free] [--style NAME] [--model PATH]\n"
    "                     [--backend auto|cpu|cuda]\n"
    "\n"
    "Generates a band with the model, bar by bar, and writes a multi-track MIDI file (one track\n"
    "per part, General MIDI programs, drums on channel 10). The same seed and options give the\n"
    "same file.\n"
    "  --bars N          bars to generate (default 16)\n"
    "  --tempo BPM       30..300 (default 120)\n"
    "  --key K           C:maj, F#:min, Bb:maj ... (default: the model chooses)\n"
    "  --parts LIST      band parts to play (default drums,bass,keys)\n"
    "  --chords LIST     one chord per bar, repeated over the bars: C:maj A:min G:7 F:maj7 B:dim\n"
    "                    D:min7, N for none (default: the model chooses)\n"
    "  --seed N          the generator's seed (default 1)\n"
    "  --temperature T   0 (greedy) .. 5 (default 1); --top-p P 0..1 (0.95); --top-k K (0: all)\n"
    "  --density LIST    density class 0..5 per part (onsets per beat: 1 < 0.5, 2 < 1, 3 < 2,\n"
    "                    4 < 4, 5 more); default drums=4,bass=3,keys=3,pad=1,lead=3; 'free'\n"
    "                    lets the model choose (no corpus has drums with pitched parts, so a\n"
    "                    free drum density stays silent beside them)\n"
    "  --style NAME      pop, rock, funk, jazz, ... (default: the model chooses)\n"
    "  --model PATH      model file (default: the bundled models/band.jamd)\n"
    "  --backend B       auto (default: CUDA when a GPU works, else the CPU), cpu or cuda\n";

// General MIDI programs (0-based) and channels (0-based; 9 is the drum channel) per band part.
constexpr int kPartProgram[models::kNumBandRoles] = {
    0, 33, 0, 89, 80};  // -, finger bass, piano, warm pad, square lead
constexpr int kPartChannel[models::kNumBandRoles] = {9, 1, 2, 3, 4};
// The MIDI file's resolution: 40 ticks per grid unit (kGridPerBeat = 12 per quarter).
constexpr int kMidiTicksPerQuarter = 480;

struct GenerateArgs {
  std::string out_path;
  int64_t bars = 16;
  double tempo_bpm = 120.0;
  int key = models::kFree;
  std::array<bool, models::kNumBandRoles> parts = {true, true, true, false, false};
  std::vector<std::optional<ForcedChord>> chords;  // per bar, cycled; nullopt: no plan
  bool chords_given = false;
  uint64_t seed = 1;
  models::SamplingParams sampling = {.temperature = 1.0f, .top_k = 0, .top_p = 0.95f};
  int style = models::kFree;
  // Typical classes of the training data's playing bars; "free" leaves them to the model.
  std::array<int, models::kNumBandRoles> density = {4, 3, 3, 1, 3};
  std::string model_path = JAMD_SOURCE_DIR "/models/band.jamd";
  // The registry picks: CUDA when built in and a device works, else the CPU (and says why).
  models::BackendKind backend = models::BackendKind::kAuto;
};

int fail(absl::string_view message) {
  std::fprintf(stderr, "jamd generate: %s\n", std::string(message).c_str());
  return 1;
}

int usage_error(absl::string_view message) {
  std::fprintf(stderr, "jamd generate: %s; see 'jamd generate --help'\n",
               std::string(message).c_str());
  return 2;
}

absl::StatusOr<int> parse_pitch_class(std::string_view name) {
  static const std::map<std::string_view, int> kTonics = {
      {"C", 0},  {"B#", 0}, {"C#", 1}, {"Db", 1},  {"D", 2},   {"D#", 3}, {"Eb", 3},
      {"E", 4},  {"Fb", 4}, {"F", 5},  {"E#", 5},  {"F#", 6},  {"Gb", 6}, {"G", 7},
      {"G#", 8}, {"Ab", 8}, {"A", 9},  {"A#", 10}, {"Bb", 10}, {"B", 11}, {"Cb", 11}};
  const auto it = kTonics.find(name);
  if (it == kTonics.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown note name '", std::string(name), "' (use C, C#, Db, D, ... B)"));
  }
  return it->second;
}

absl::StatusOr<int> parse_key(std::string_view text) {
  const size_t colon = text.find(':');
  const std::string_view mode = colon == std::string_view::npos ? "" : text.substr(colon + 1);
  if (mode != "maj" && mode != "min") {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown key '", std::string(text), "': write TONIC:maj or TONIC:min, e.g. C:maj, F#:min"));
  }
  absl::StatusOr<int> tonic = parse_pitch_class(text.substr(0, colon));
  if (!tonic.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown key '", std::string(text), "': ", tonic.status().message()));
  }
  return *tonic + (mode == "min" ? 12 : 0);
}

absl::StatusOr<ForcedChord> parse_chord(std::string_view text) {
  if (text == "N") return ForcedChord{0, -1, ChordQuality::kMaj};
  const size_t colon = text.find(':');
  const std::string_view quality = colon == std::string_view::npos ? "" : text.substr(colon + 1);
  for (int q = 0; q < models::kNumChordQualities; ++q) {
    const auto cq = static_cast<ChordQuality>(q);
    if (quality != models::chord_quality_name(cq)) continue;
    absl::StatusOr<int> root = parse_pitch_class(text.substr(0, colon));
    if (!root.ok()) break;
    return ForcedChord{0, *root, cq};
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown chord '", std::string(text),
      "': write ROOT:QUALITY with a quality of maj, min, 7, min7, maj7, dim (e.g. G:7), or N"));
}

absl::Status parse_density(absl::string_view text,
                           std::array<int, models::kNumBandRoles>& density) {
  if (text == "free") {
    density.fill(models::kFree);
    return absl::OkStatus();
  }
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    const std::vector<absl::string_view> kv = absl::StrSplit(item, '=');
    int part = -1;
    for (int r = 0; kv.size() == 2 && r < models::kNumBandRoles; ++r) {
      if (kv[0] == models::role_name(static_cast<Role>(r))) part = r;
    }
    const bool class_ok = kv.size() == 2 && kv[1].size() == 1 && kv[1][0] >= '0' &&
                          kv[1][0] < '0' + models::kNumDensityClasses;
    if (part < 0 || !class_ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad density '", item,
                       "': write PART=CLASS with a band part and a class 0..5, "
                       "e.g. drums=4,bass=2, or 'free'"));
    }
    density[static_cast<size_t>(part)] = kv[1][0] - '0';
  }
  return absl::OkStatus();
}

absl::Status parse_parts(std::string_view text, std::array<bool, models::kNumBandRoles>& parts) {
  parts.fill(false);
  for (absl::string_view name : absl::StrSplit(absl::string_view(text.data(), text.size()), ',')) {
    bool found = false;
    for (int r = 0; r < models::kNumBandRoles; ++r) {
      if (name == models::role_name(static_cast<Role>(r))) parts[r] = found = true;
    }
    if (!found) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown part '", name, "': the band parts are drums, bass, keys, pad, lead"));
    }
  }
  return absl::OkStatus();
}

// Parses one option with its value; false with `error` set when it is not valid.
bool parse_option(std::string_view a, const char* v, GenerateArgs& g, std::string& error) {
  double n = 0;
  absl::Status s;
  if (a == "--out") {
    g.out_path = v;
  } else if (a == "--model") {
    g.model_path = v;
  } else if (a == "--bars" && parse_number(v, 1, 100000, n)) {
    g.bars = static_cast<int64_t>(n);
  } else if (a == "--tempo" && parse_number(v, models::kTempoMinBpm, models::kTempoMaxBpm, n)) {
    g.tempo_bpm = n;
  } else if (a == "--seed" && parse_number(v, 0, 1.8e19, n)) {
    g.seed = std::strtoull(v, nullptr, 10);
  } else if (a == "--temperature" && parse_number(v, 0, 5, n)) {
    g.sampling.temperature = static_cast<float>(n);
  } else if (a == "--top-p" && parse_number(v, 0.01, 1, n)) {
    g.sampling.top_p = static_cast<float>(n);
  } else if (a == "--top-k" && parse_number(v, 0, 100000, n)) {
    g.sampling.top_k = static_cast<int32_t>(n);
  } else if (a == "--key") {
    absl::StatusOr<int> key = parse_key(v);
    if (key.ok()) g.key = *key;
    s = key.status();
  } else if (a == "--parts") {
    s = parse_parts(v, g.parts);
  } else if (a == "--density") {
    s = parse_density(v, g.density);
  } else if (a == "--style") {
    g.style = models::style_index(v);
    if (g.style < 0) s = absl::InvalidArgumentError(absl::StrCat("unknown style '", v, "'"));
  } else if (a == "--backend") {
    absl::StatusOr<models::BackendKind> kind = models::parse_backend_kind(v);
    if (kind.ok()) g.backend = *kind;
    s = kind.status();
  } else if (a == "--chords") {
    g.chords_given = true;
    for (absl::string_view c : absl::StrSplit(v, ' ', absl::SkipEmpty())) {
      absl::StatusOr<ForcedChord> chord = parse_chord(std::string_view(c.data(), c.size()));
      if (!chord.ok()) {
        s = chord.status();
        break;
      }
      g.chords.push_back(*chord);
    }
    if (s.ok() && g.chords.empty()) s = absl::InvalidArgumentError("--chords lists no chord");
  } else {
    error = absl::StrCat("bad value '", v, "' for ", std::string(a));
    return false;
  }
  if (!s.ok()) error = std::string(s.message());
  return s.ok();
}

// True to go on; false to exit with exit_status (2 for a usage error, 0 after --help).
bool parse_args(std::span<const char* const> args, GenerateArgs& g, int& exit_status) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "--help" || a == "-h") {
      std::printf("%s", kUsage);
      exit_status = 0;
      return false;
    }
    if (!a.starts_with("--") || i + 1 >= args.size()) {
      exit_status = usage_error(absl::StrCat("bad or incomplete option '", std::string(a), "'"));
      return false;
    }
    std::string error;
    if (!parse_option(a, args[++i], g, error)) {
      exit_status = usage_error(error);
      return false;
    }
  }
  if (g.out_path.empty()) {
    exit_status = usage_error("give the output file with --out FILE.mid");
    return false;
  }
  if (std::none_of(g.parts.begin(), g.parts.end(), [](bool on) { return on; })) {
    exit_status = usage_error("--parts enables no part");
    return false;
  }
  return true;
}

void add_meta(realtime::MidiTrack& track, uint64_t tick, uint8_t type, std::vector<uint8_t> data) {
  track.events.push_back(realtime::MidiEvent{tick, 0xFF, type, std::move(data)});
}

std::vector<uint8_t> bytes_of(const std::string& text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

// One conductor track (tempo, metre) and one track per enabled part.
realtime::MidiFile score_to_midi(const models::Score& score,
                                 const std::array<bool, models::kNumBandRoles>& parts) {
  const int64_t scale = kMidiTicksPerQuarter / score.ticks_per_beat;
  const std::vector<int64_t> bar_starts = models::bar_start_ticks(score);
  const auto end_tick = static_cast<uint64_t>(bar_starts.back() * scale);
  realtime::MidiFile midi;
  midi.format = 1;
  midi.ticks_per_quarter = kMidiTicksPerQuarter;
  realtime::MidiTrack conductor;
  add_meta(conductor, 0, realtime::kMetaTrackName, bytes_of("jamd band"));
  for (size_t b = 0; b < score.bars.size(); ++b) {
    const models::BarInfo& bar = score.bars[b];
    const auto tick = static_cast<uint64_t>(bar_starts[b] * scale);
    if (b == 0 || !(bar.time_signature == score.bars[b - 1].time_signature)) {
      const int dd = std::countr_zero(static_cast<unsigned>(bar.time_signature.denominator));
      add_meta(
          conductor, tick, realtime::kMetaTimeSignature,
          {static_cast<uint8_t>(bar.time_signature.numerator), static_cast<uint8_t>(dd), 24, 8});
    }
    if (b == 0 || bar.tempo_bpm != score.bars[b - 1].tempo_bpm) {
      const auto us = static_cast<uint32_t>(60'000'000.0 / bar.tempo_bpm + 0.5);
      add_meta(conductor, tick, realtime::kMetaTempo,
               {static_cast<uint8_t>(us >> 16), static_cast<uint8_t>(us >> 8),
                static_cast<uint8_t>(us)});
    }
  }
  conductor.end_tick = end_tick;
  midi.tracks.push_back(std::move(conductor));
  for (int r = 0; r < models::kNumBandRoles; ++r) {
    if (!parts[r]) continue;
    realtime::MidiTrack track;
    const auto channel = static_cast<uint8_t>(kPartChannel[r]);
    add_meta(track, 0, realtime::kMetaTrackName, bytes_of(models::role_name(static_cast<Role>(r))));
    if (r != static_cast<int>(Role::kDrums)) {
      track.events.push_back(
          {0, static_cast<uint8_t>(0xC0 | channel), 0, {static_cast<uint8_t>(kPartProgram[r])}});
    }
    // (tick, 0 = off before 1 = on, pitch, velocity)
    std::vector<std::array<int64_t, 4>> edges;
    for (const models::Note& n : score.notes) {
      if (static_cast<int>(n.role) != r) continue;
      edges.push_back({n.start_ticks * scale, 1, n.pitch, n.velocity});
      edges.push_back(
          {(n.start_ticks + std::max<int64_t>(n.duration_ticks, 1)) * scale, 0, n.pitch, 0});
    }
    std::sort(edges.begin(), edges.end());
    for (const auto& e : edges) {
      const uint8_t status = static_cast<uint8_t>((e[1] == 1 ? 0x90 : 0x80) | channel);
      track.events.push_back({static_cast<uint64_t>(e[0]),
                              status,
                              0,
                              {static_cast<uint8_t>(e[2]), static_cast<uint8_t>(e[3])}});
    }
    track.end_tick = std::max<uint64_t>(end_tick, track.events.back().tick);
    midi.tracks.push_back(std::move(track));
  }
  return midi;
}

// The band as the model can play it. A full-band model (ModelConfig::full_band: trained with
// drums paired to the pitched songs, models/MODEL_CARD.md) plays every part in one jam. An older
// model leaves the drum block empty beside chords, so there the drums are a second jam in the
// same batch, conditioned as the drum corpus was (drums alone, key "any", no chords), with the
// same tempo and metre; the two are merged.
struct Takes {
  std::vector<std::unique_ptr<models::BandGenerator>> jams;  // pitched parts, then drums
  std::vector<std::array<bool, models::kNumBandRoles>> parts;
};

absl::StatusOr<Takes> start_takes(models::Backend& backend, const GenerateArgs& g) {
  Takes takes;
  std::array<bool, models::kNumBandRoles> pitched = g.parts, drums{};
  const bool one_jam = backend.config().full_band;
  pitched[0] = one_jam && g.parts[0];
  drums[0] = !one_jam && g.parts[0];
  for (const bool is_drums : {false, true}) {
    const std::array<bool, models::kNumBandRoles>& parts = is_drums ? drums : pitched;
    if (std::none_of(parts.begin(), parts.end(), [](bool on) { return on; })) continue;
    models::BandGeneratorOptions options;
    options.seed = is_drums ? g.seed ^ 0x9e3779b97f4a7c15ull : g.seed;
    absl::StatusOr<std::unique_ptr<models::BandGenerator>> jam =
        models::BandGenerator::create(backend, options);
    if (!jam.ok()) return jam.status();
    models::BandControls controls;
    controls.tempo_bpm = g.tempo_bpm;
    controls.key = is_drums ? models::kAnyClass : g.key;
    controls.style = g.style;
    controls.density_class = g.density;
    controls.part_enabled = parts;
    controls.sampling = g.sampling;
    (*jam)->set_controls(controls);
    for (int64_t b = 0; (g.chords_given || is_drums) && b < g.bars; ++b) {
      (*jam)->force_chords(b, {is_drums ? ForcedChord{0, -1, ChordQuality::kMaj}
                                        : *g.chords[static_cast<size_t>(b) % g.chords.size()]});
    }
    (*jam)->request_bars(g.bars);
    takes.jams.push_back(*std::move(jam));
    takes.parts.push_back(parts);
  }
  return takes;
}

// One score: the first take's bars and chords, every take's notes of its own parts.
absl::StatusOr<models::Score> merge_takes(const Takes& takes) {
  models::Score merged;
  for (size_t i = 0; i < takes.jams.size(); ++i) {
    absl::StatusOr<models::Score> score = models::decode(takes.jams[i]->tokens());
    if (!score.ok()) {
      return absl::InternalError(
          absl::StrCat("generated tokens do not decode (a bug): ", score.status().message()));
    }
    if (i == 0) {
      merged = *std::move(score);
      continue;
    }
    for (const models::Note& n : score->notes) {
      if (takes.parts[i][static_cast<size_t>(n.role)]) merged.notes.push_back(n);
    }
  }
  return merged;
}

}  // namespace

int run_generate(std::span<const char* const> args) {
  GenerateArgs g;
  int exit_status = 0;
  if (!parse_args(args, g, exit_status)) return exit_status;
  auto weights = models::WeightFile::open(g.model_path);
  if (!weights.ok()) return fail(weights.status().message());
  if (absl::Status s = models::check_vocabulary(**weights); !s.ok()) return fail(s.message());
  models::BackendOptions backend_options;
  backend_options.max_streams = 2;
  auto engine = models::create_backend(g.backend, *weights, backend_options);
  if (!engine.ok()) return fail(engine.status().message());
  absl::StatusOr<Takes> takes = start_takes(*engine->backend, g);
  if (!takes.ok()) return fail(takes.status().message());
  std::vector<models::BandGenerator*> jams;
  for (const auto& jam : takes->jams) jams.push_back(jam.get());
  models::GenerationBatch batch(engine->backend->config().n_vocab);
  const auto t0 = std::chrono::steady_clock::now();
  if (absl::Status s = models::generate_until_done(jams, batch); !s.ok()) return fail(s.message());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  absl::StatusOr<models::Score> score = merge_takes(*takes);
  if (!score.ok()) return fail(score.status().message());
  const realtime::MidiFile midi = score_to_midi(*score, g.parts);
  if (absl::Status s = realtime::write_midi_file(g.out_path, midi); !s.ok()) {
    return fail(absl::StrCat(s.message(), "; pick a writable path for --out"));
  }
  int64_t n_tokens = 0;
  for (const models::BandGenerator* jam : jams) n_tokens += jam->tokens_generated();
  std::printf(
      "jamd generate: %lld bars, %lld tokens in %.3f s on %s (%zu streams batched): "
      "%.0f tokens/s, %.1f ms per bar\n",
      static_cast<long long>(g.bars), static_cast<long long>(n_tokens), seconds,
      engine->backend->caps().name.c_str(), jams.size(), static_cast<double>(n_tokens) / seconds,
      1000.0 * seconds / static_cast<double>(g.bars));
  std::printf("  wrote %s: %zu notes on %zu tracks\n", g.out_path.c_str(), score->notes.size(),
              midi.tracks.size());
  return 0;
}

}  // namespace jamd
