// jamd-eval: measures the model and the generator against TARGETS.md's "Music" table on the
// held-out split, prints a table (target, measured, pass) and writes the numbers as JSON.
// Usage: jamd-eval --tokens=DIR [--help]; results: docs/PERFORMANCE.md, models/MODEL_CARD.md.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "models/data/token_file.h"
#include "models/engine/backend_registry.h"
#include "models/engine/weight_file.h"
#include "models/eval/eval_runs.h"

namespace {

using namespace jamd::models;  // NOLINT: a program's main file

constexpr const char* kUsage = R"(usage: jamd-eval --tokens=DIR [options]

Measures the band model and the generator on held-out data (TARGETS.md, "Music"): NLL of the
engine against a bigram fitted on train, generated bars that decode, control adherence, chord
tones, and pitch / groove descriptors against the real test split's interquartile range.
  --tokens=DIR          train.tok, validation.tok, test.tok from jamd-prepare
  --data=DIR --work=DIR  or: the corpora; jamd-prepare writes the token files to WORK/tokens
                        (once; later runs reuse them)
  --model=PATH          model file (default: the bundled models/band.jamd)
  --out=PATH            JSON results (default: jamd-eval.json)
  --nll-sequences=N     songs per split for the NLL (default 32)
  --nll-tokens=N        tokens from the start of each of them (default 1024)
  --jams=N              generated jams, each conditioned on a real test segment (default 96)
  --bars=N              bars per jam (default 8)
  --seed=N              first jam's seed (default 1)
  --temperature=T       sampling temperature (default 1.0); --top-p=P (default 0.95)
  --drums-top-p=P       top-p in the drum block (default 1: the whole distribution)
  --out-of-key-bias=B   nats added to out-of-key pitches of pitched parts (default -0.5)
  --non-chord-bias=B    nats added to bass and keys' non-chord-tone pitches (default -0.75)
  --pad-lead-non-chord-bias=B  the same for pad and lead (default 0)
  --forced-non-chord-bias=B  the same in bars with forced chords, which are all of this
                        eval's bars (0, the default: --non-chord-bias applies; the conductor
                        uses -2.5 for the musician's chords)
  --precision=P         float32 (default) or bf16 (the engine's kReduced, as the live daemon
                        runs it); bf16 also compares its logits with float32's on the same
                        test tokens (--nll-sequences / 4 songs, --nll-tokens / 2 tokens each)
  --threads=N           CPU worker threads (default 1)
  --generation-only     skip the NLL and the logit comparison (for sweeps of the sampling)
)";

struct Args {
  std::string tokens_dir, data_dir, work_dir, model = JAMD_SOURCE_DIR "/models/band.jamd",
                                              out = "jamd-eval.json";
  eval::NllOptions nll;
  eval::GenerationOptions gen;
  Precision precision = Precision::kFloat32;
  int threads = 1;
  bool generation_only = false;
};

// A flag's number, or NaN when the text is not one (so that every range check refuses it:
// "--non-chord-bias=strong" must not silently become 0).
double number(const std::string& text) {
  double n = 0;
  return absl::SimpleAtod(text, &n) && std::isfinite(n) ? n : std::nan("");
}

// Returns the first argument it refuses (empty when all are fine).
std::string parse(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq);
    const std::string value(eq == std::string_view::npos ? "" : arg.substr(eq + 1));
    const double n = number(value);
    if (name == "--help") {
      std::printf("%s", kUsage);
      std::exit(0);
    } else if (name == "--generation-only" && eq == std::string_view::npos) {
      a.generation_only = true;
    } else if (eq == std::string_view::npos) {
      return std::string(arg);
    } else if (name == "--tokens") {
      a.tokens_dir = value;
    } else if (name == "--data") {
      a.data_dir = value;
    } else if (name == "--work") {
      a.work_dir = value;
    } else if (name == "--model") {
      a.model = value;
    } else if (name == "--out") {
      a.out = value;
    } else if (name == "--nll-sequences" && n >= 1) {
      a.nll.n_sequences = static_cast<int>(n);
    } else if (name == "--nll-tokens" && n >= 2) {
      a.nll.max_tokens = static_cast<int>(n);
    } else if (name == "--jams" && n >= 1) {
      a.gen.n_jams = static_cast<int>(n);
    } else if (name == "--bars" && n >= 2) {
      a.gen.n_bars = static_cast<int>(n);
    } else if (name == "--seed" && absl::SimpleAtoi(value, &a.gen.seed)) {
    } else if (name == "--temperature" && n >= 0) {
      a.gen.sampling.temperature = static_cast<float>(n);
    } else if (name == "--top-p" && n > 0 && n <= 1) {
      a.gen.sampling.top_p = static_cast<float>(n);
    } else if (name == "--drums-top-p" && n > 0 && n <= 1) {
      a.gen.drums_top_p = static_cast<float>(n);
    } else if (name == "--out-of-key-bias" && n <= 0) {
      a.gen.bias.out_of_key = static_cast<float>(n);
    } else if (name == "--non-chord-bias" && n <= 0) {
      a.gen.bias.non_chord_tone = static_cast<float>(n);
    } else if (name == "--pad-lead-non-chord-bias" && n <= 0) {
      a.gen.bias.non_chord_tone_pad_lead = static_cast<float>(n);
    } else if (name == "--forced-non-chord-bias" && n <= 0) {
      a.gen.bias.forced_non_chord_tone = static_cast<float>(n);
    } else if (name == "--precision" && (value == "float32" || value == "bf16")) {
      a.precision = value == "bf16" ? Precision::kReduced : Precision::kFloat32;
    } else if (name == "--threads" && n >= 1) {
      a.threads = static_cast<int>(n);
    } else {
      return std::string(arg);
    }
  }
  if (a.tokens_dir.empty() && !a.data_dir.empty() && !a.work_dir.empty()) {
    a.tokens_dir = a.work_dir + "/tokens";
  }
  return a.tokens_dir.empty() ? "(no --tokens, nor --data with --work)" : "";
}

// Runs jamd-prepare when --data was given and the token files are not there yet.
bool prepare_tokens(const Args& a) {
  if (a.data_dir.empty() || std::filesystem::exists(a.tokens_dir + "/test.tok")) return true;
  const std::string command =
      absl::StrCat("'", JAMD_PREPARE_PATH, "' --data='", a.data_dir, "' --work='", a.work_dir,
                   "' --out='", a.tokens_dir, "'");
  std::printf("jamd-eval: preparing token files: %s\n", command.c_str());
  std::fflush(stdout);
  return std::system(command.c_str()) == 0;
}

struct Row {
  std::string name, target, measured;
  bool pass = false;
  double value = 0;
};

std::string fmt(double v, int digits = 3) { return absl::StrFormat("%.*f", digits, v); }

void add_share_row(std::vector<Row>& rows, const std::string& name, double share, double min) {
  rows.push_back({name, absl::StrCat(">= ", fmt(min, 2)), fmt(share), share >= min, share});
}

// The NLL results are validation then test, or none with --generation-only.
std::vector<Row> build_rows(const std::vector<eval::NllResult>& nlls,
                            const eval::GenerationReport& g) {
  std::vector<Row> rows;
  for (const auto* nll = nlls.data(); nll != nlls.data() + nlls.size(); ++nll) {
    const double below = 1.0 - nll->model_nats / nll->bigram_nats;
    rows.push_back({absl::StrCat(nll == nlls.data() ? "validation" : "test", " NLL below bigram (",
                                 fmt(nll->model_nats), " vs ", fmt(nll->bigram_nats), " nats)"),
                    ">= 30 %", absl::StrCat(fmt(100 * below, 1), " %"), below >= 0.30, below});
  }
  add_share_row(rows, "generated bars that decode", static_cast<double>(g.bars_decoded) / g.bars,
                1.0);
  add_share_row(rows, "density class within +-1",
                static_cast<double>(g.density_within_one) / g.density_checks, 0.80);
  add_share_row(rows, "disabled parts silent (part-bars)",
                static_cast<double>(g.disabled_part_bars_silent) / g.disabled_part_bars, 1.0);
  if (g.band_drum_bars > 0) {  // token files with drum pairing (jamd-prepare's default)
    add_share_row(rows,
                  absl::StrCat("drums play beside chords, one stream (", g.band_drum_bars,
                               " bars of POP909 jams whose real bar has drums)"),
                  static_cast<double>(g.band_drum_bars_playing) / g.band_drum_bars, 0.90);
  }
  add_share_row(rows,
                absl::StrCat("notes in key (real segments: ", fmt(g.real_in_key.share()), ")"),
                g.generated_in_key.share(), 0.90);
  const double real_ct = g.real_chord_tones_split.share();
  add_share_row(rows,
                absl::StrCat("chord tones, bass+keys (real split ", fmt(real_ct), ", segments ",
                             fmt(g.real_chord_tones_segments.share()), ")"),
                g.generated_chord_tones.share(), real_ct - 0.05);
  for (int i = 0; i < 4; ++i) {
    const double q1 = g.real[i].quantile(0.25), q3 = g.real[i].quantile(0.75);
    const double median = g.generated[i].quantile(0.5);
    eval::Distribution all = g.generated[i];  // with the part-mask jams, as before 2026-11-23
    const auto& removed = g.generated_part_removed[i].values;
    all.values.insert(all.values.end(), removed.begin(), removed.end());
    rows.push_back(
        {absl::StrCat(eval::kDescriptorNames[i], ", median of ", g.generated[i].values.size(),
                      " jams with the real parts (IQR ", fmt(g.generated[i].quantile(0.25)), "..",
                      fmt(g.generated[i].quantile(0.75)), "; all ", all.values.size(),
                      " jams: ", fmt(all.quantile(0.5)), ")"),
         absl::StrCat("real IQR ", fmt(q1), "..", fmt(q3)), fmt(median),
         median >= q1 && median <= q3, median});
  }
  return rows;
}

void print_table(const std::vector<Row>& rows) {
  std::printf("\n| metric | target | measured | pass |\n| --- | --- | --- | --- |\n");
  for (const Row& r : rows) {
    std::printf("| %s | %s | %s | %s |\n", r.name.c_str(), r.target.c_str(), r.measured.c_str(),
                r.pass ? "pass" : "FAIL");
  }
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// What jamd-eval measured besides the table's rows.
struct Extras {
  double nll_tokens_per_s = 0;
  std::optional<eval::LogitDiff> bf16_vs_float32;
};

bool write_json(const std::string& path, const Args& a, const std::vector<Row>& rows,
                const eval::GenerationReport& g, const Extras& x) {
  std::ofstream out(path);
  out << "{\n  \"model\": \"" << json_escape(a.model) << "\",\n  \"jams\": " << a.gen.n_jams
      << ", \"bars_per_jam\": " << a.gen.n_bars << ", \"seed\": " << a.gen.seed
      << ", \"temperature\": " << a.gen.sampling.temperature
      << ", \"top_p\": " << a.gen.sampling.top_p << ", \"drums_top_p\": " << a.gen.drums_top_p
      << ",\n  \"out_of_key_bias\": " << a.gen.bias.out_of_key
      << ", \"non_chord_bias\": " << a.gen.bias.non_chord_tone
      << ", \"pad_lead_non_chord_bias\": " << a.gen.bias.non_chord_tone_pad_lead
      << ", \"forced_non_chord_bias\": " << a.gen.bias.forced_non_chord_tone
      << ", \"precision\": \"" << (a.precision == Precision::kReduced ? "bf16" : "float32")
      << "\", \"threads\": " << a.threads
      << ",\n  \"generation_tokens_per_s\": " << static_cast<double>(g.tokens) / g.seconds
      << ", \"nll_tokens_per_s\": " << x.nll_tokens_per_s << ",\n";
  if (x.bf16_vs_float32) {
    const eval::LogitDiff& d = *x.bf16_vs_float32;
    out << "  \"bf16_vs_float32_logits\": {\"positions\": " << d.n_positions
        << ", \"max_abs\": " << d.max_abs << ", \"mean_abs\": " << d.mean_abs
        << ", \"max_logit\": " << d.max_logit << ", \"argmax_agreement\": "
        << static_cast<double>(d.argmax_agree) / static_cast<double>(d.n_positions) << "},\n";
  }
  out << "  \"rows\": [\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    out << "    {\"metric\": \"" << json_escape(r.name) << "\", \"target\": \""
        << json_escape(r.target) << "\", \"value\": " << (std::isnan(r.value) ? 0.0 : r.value)
        << ", \"pass\": " << (r.pass ? "true" : "false") << "}" << (i + 1 < rows.size() ? "," : "")
        << "\n";
  }
  out << "  ]\n}\n";
  return static_cast<bool>(out);
}

int fail(const std::string& message) {
  std::fprintf(stderr, "jamd-eval: %s\n", message.c_str());
  return 1;
}

std::string split_path(const Args& a, const char* name) {
  return absl::StrCat(a.tokens_dir, "/", name, ".tok");
}

// A token file of this vocabulary whose every token the model knows: a damaged file must stop
// the run with its name, not feed the engine garbage.
absl::StatusOr<data::TokenFile> read_split(const Args& a, const char* name, int32_t n_vocab) {
  const std::string path = split_path(a, name);
  absl::StatusOr<data::TokenFile> file = data::read_token_file(path);
  if (!file.ok()) return file.status();
  const auto bad = std::find_if(file->tokens.begin(), file->tokens.end(),
                                [&](uint16_t t) { return t >= n_vocab; });
  if (bad != file->tokens.end()) {
    return absl::DataLossError(absl::StrCat(
        path, ": token ", *bad, " at index ", bad - file->tokens.begin(), " is outside the ",
        n_vocab, "-token vocabulary; the file is damaged: run jamd-prepare again"));
  }
  if (file->tokens.empty()) {
    return absl::DataLossError(absl::StrCat(path, " holds no songs; run jamd-prepare again"));
  }
  return file;
}

// bf16's logits against a float32 twin's on the first tokens of a few test songs.
absl::StatusOr<eval::LogitDiff> measure_bf16_logits(std::shared_ptr<const WeightFile> weights,
                                                    Backend& reduced, const Args& a,
                                                    std::span<const uint16_t> test) {
  BackendOptions options;
  options.threads = a.threads;
  auto float32 = create_backend(BackendKind::kCpu, std::move(weights), options);
  if (!float32.ok()) return float32.status();
  const eval::NllOptions few{.n_sequences = std::max(1, a.nll.n_sequences / 4),
                             .max_tokens = std::max(2, a.nll.max_tokens / 2)};
  return eval::compare_logits(*float32->backend, reduced, test, few);
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (const std::string bad = parse(argc, argv, a); !bad.empty()) {
    std::fprintf(stderr, "jamd-eval: cannot use %s\n%s", bad.c_str(), kUsage);
    return 2;
  }
  if (!prepare_tokens(a)) return fail("jamd-prepare failed; see its message above");
  auto weights = WeightFile::open(a.model);
  if (!weights.ok()) return fail(std::string(weights.status().message()));
  if (auto s = check_vocabulary(**weights); !s.ok()) return fail(std::string(s.message()));
  BackendOptions options;
  options.max_streams = std::max(a.nll.n_sequences, a.gen.n_jams);
  options.precision = a.precision;
  options.threads = a.threads;
  auto engine = create_backend(BackendKind::kCpu, *weights, options);
  if (!engine.ok()) return fail(std::string(engine.status().message()));
  Backend& backend = *engine->backend;
  if (a.precision == Precision::kReduced && backend.caps().precision != Precision::kReduced) {
    return fail("--precision=bf16: this CPU has no bfloat16 path; the engine would run float32");
  }
  const int32_t n_vocab = backend.config().n_vocab;
  auto test = read_split(a, "test", n_vocab);
  if (!test.ok()) return fail(std::string(test.status().message()));
  std::vector<eval::NllResult> nlls;
  Extras extras;
  if (!a.generation_only) {
    auto train = read_split(a, "train", n_vocab);
    auto val = read_split(a, "validation", n_vocab);
    if (!train.ok() || !val.ok())
      return fail(std::string((train.ok() ? val : train).status().message()));
    const eval::Bigram bigram = eval::fit_bigram(train->tokens, backend.config().n_vocab);
    for (const data::TokenFile* split : {&*val, &*test}) {
      auto nll = eval::evaluate_nll(backend, split->tokens, bigram, a.nll);
      if (!nll.ok()) return fail(std::string(nll.status().message()));
      nlls.push_back(*nll);
    }
    extras.nll_tokens_per_s = static_cast<double>(nlls[0].n_predictions + nlls[1].n_predictions) /
                              (nlls[0].seconds + nlls[1].seconds);
    std::printf(
        "jamd-eval: NLL over %lld + %lld tokens (%d songs per split), %.0f tokens/s batched\n",
        static_cast<long long>(nlls[0].n_predictions),
        static_cast<long long>(nlls[1].n_predictions), a.nll.n_sequences, extras.nll_tokens_per_s);
    if (a.precision == Precision::kReduced) {
      auto diff = measure_bf16_logits(*weights, backend, a, test->tokens);
      if (!diff.ok()) return fail(std::string(diff.status().message()));
      extras.bf16_vs_float32 = *diff;
      std::printf(
          "jamd-eval: bf16 vs float32 logits over %lld positions of test songs: max |diff| "
          "%.4f (largest |logit| %.2f), mean |diff| %.5f, same top token %.4f\n",
          static_cast<long long>(diff->n_positions), diff->max_abs, diff->max_logit, diff->mean_abs,
          static_cast<double>(diff->argmax_agree) / static_cast<double>(diff->n_positions));
    }
  }
  auto gen = eval::evaluate_generation(backend, test->tokens, a.gen);
  if (absl::IsDataLoss(gen.status())) {
    return fail(absl::StrCat(split_path(a, "test"), ": ", gen.status().message()));
  }
  if (!gen.ok()) return fail(std::string(gen.status().message()));
  std::printf(
      "jamd-eval: generated %lld bars in %d jams (batched), %lld tokens in %.2f s: %.0f "
      "tokens/s, %.1f ms per jam-bar\n",
      static_cast<long long>(gen->bars), a.gen.n_jams, static_cast<long long>(gen->tokens),
      gen->seconds, static_cast<double>(gen->tokens) / gen->seconds,
      1000.0 * gen->seconds / static_cast<double>(gen->bars));
  const std::vector<Row> rows = build_rows(nlls, *gen);
  print_table(rows);
  if (!write_json(a.out, a, rows, *gen, extras)) return fail("cannot write " + a.out);
  std::printf("\nwrote %s\n", a.out.c_str());
  const bool all = std::all_of(rows.begin(), rows.end(), [](const Row& r) { return r.pass; });
  return all ? 0 : 3;
}
