// jamd-eval: measures the model and the generator against TARGETS.md's "Music" table on the
// held-out split, prints a table (target, measured, pass) and writes the numbers as JSON.
// Usage: jamd-eval --tokens=DIR [--help]; results: docs/PERFORMANCE.md, models/MODEL_CARD.md.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

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
  --out-of-key-bias=B   nats added to out-of-key pitches of pitched parts (default -0.5)
  --non-chord-bias=B    nats added to non-chord-tone pitches (default -0.25)
)";

struct Args {
  std::string tokens_dir, data_dir, work_dir, model = JAMD_SOURCE_DIR "/models/band.jamd", out = "jamd-eval.json";
  eval::NllOptions nll;
  eval::GenerationOptions gen;
};

bool parse(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq);
    const std::string value(eq == std::string_view::npos ? "" : arg.substr(eq + 1));
    const double n = std::atof(value.c_str());
    if (name == "--help") {
      std::printf("%s", kUsage);
      std::exit(0);
    } else if (eq == std::string_view::npos) {
      return false;
    } else if (name == "--tokens") { a.tokens_dir = value;
    } else if (name == "--data") { a.data_dir = value;
    } else if (name == "--work") { a.work_dir = value;
    } else if (name == "--model") { a.model = value;
    } else if (name == "--out") { a.out = value;
    } else if (name == "--nll-sequences" && n >= 1) { a.nll.n_sequences = static_cast<int>(n);
    } else if (name == "--nll-tokens" && n >= 2) { a.nll.max_tokens = static_cast<int>(n);
    } else if (name == "--jams" && n >= 1) { a.gen.n_jams = static_cast<int>(n);
    } else if (name == "--bars" && n >= 2) { a.gen.n_bars = static_cast<int>(n);
    } else if (name == "--seed") { a.gen.seed = std::strtoull(value.c_str(), nullptr, 10);
    } else if (name == "--temperature" && n >= 0) { a.gen.sampling.temperature = static_cast<float>(n);
    } else if (name == "--top-p" && n > 0 && n <= 1) { a.gen.sampling.top_p = static_cast<float>(n);
    } else if (name == "--out-of-key-bias") { a.gen.bias.out_of_key = static_cast<float>(n);
    } else if (name == "--non-chord-bias") { a.gen.bias.non_chord_tone = static_cast<float>(n);
    } else {
      return false;
    }
  }
  if (a.tokens_dir.empty() && !a.data_dir.empty() && !a.work_dir.empty()) {
    a.tokens_dir = a.work_dir + "/tokens";
  }
  return !a.tokens_dir.empty();
}

// Runs jamd-prepare when --data was given and the token files are not there yet.
bool prepare_tokens(const Args& a) {
  if (a.data_dir.empty() || std::filesystem::exists(a.tokens_dir + "/test.tok")) return true;
  const std::string command = absl::StrCat("'", JAMD_PREPARE_PATH, "' --data='", a.data_dir,
                                           "' --work='", a.work_dir, "' --out='", a.tokens_dir, "'");
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

std::vector<Row> build_rows(const eval::NllResult& val, const eval::NllResult& test,
                            const eval::GenerationReport& g) {
  std::vector<Row> rows;
  for (const auto* nll : {&val, &test}) {
    const double below = 1.0 - nll->model_nats / nll->bigram_nats;
    rows.push_back({absl::StrCat(nll == &val ? "validation" : "test", " NLL below bigram (",
                                 fmt(nll->model_nats), " vs ", fmt(nll->bigram_nats), " nats)"),
                    ">= 30 %", absl::StrCat(fmt(100 * below, 1), " %"), below >= 0.30, below});
  }
  add_share_row(rows, "generated bars that decode", static_cast<double>(g.bars_decoded) / g.bars, 1.0);
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
  add_share_row(rows, absl::StrCat("notes in key (real segments: ", fmt(g.real_in_key.share()), ")"),
                g.generated_in_key.share(), 0.90);
  const double real_ct = g.real_chord_tones_split.share();
  add_share_row(rows, absl::StrCat("chord tones, bass+keys (real split ", fmt(real_ct),
                                   ", segments ", fmt(g.real_chord_tones_segments.share()), ")"),
                g.generated_chord_tones.share(), real_ct - 0.05);
  for (int i = 0; i < 4; ++i) {
    const double q1 = g.real[i].quantile(0.25), q3 = g.real[i].quantile(0.75);
    const double median = g.generated[i].quantile(0.5);
    rows.push_back({absl::StrCat(eval::kDescriptorNames[i], ", median of jams (IQR ",
                                 fmt(g.generated[i].quantile(0.25)), "..",
                                 fmt(g.generated[i].quantile(0.75)), ")"),
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

bool write_json(const std::string& path, const Args& a, const std::vector<Row>& rows,
                const eval::GenerationReport& g, double nll_tokens_per_s) {
  std::ofstream out(path);
  out << "{\n  \"model\": \"" << json_escape(a.model) << "\",\n  \"jams\": " << a.gen.n_jams
      << ", \"bars_per_jam\": " << a.gen.n_bars << ", \"seed\": " << a.gen.seed
      << ", \"temperature\": " << a.gen.sampling.temperature << ", \"top_p\": "
      << a.gen.sampling.top_p << ",\n  \"out_of_key_bias\": " << a.gen.bias.out_of_key
      << ", \"non_chord_bias\": " << a.gen.bias.non_chord_tone
      << ",\n  \"generation_tokens_per_s\": " << static_cast<double>(g.tokens) / g.seconds
      << ", \"nll_tokens_per_s\": " << nll_tokens_per_s << ",\n  \"rows\": [\n";
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

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parse(argc, argv, a)) {
    std::fprintf(stderr, "%s", kUsage);
    return 2;
  }
  if (!prepare_tokens(a)) return fail("jamd-prepare failed; see its message above");
  auto weights = WeightFile::open(a.model);
  if (!weights.ok()) return fail(std::string(weights.status().message()));
  if (auto s = check_vocabulary(**weights); !s.ok()) return fail(std::string(s.message()));
  BackendOptions options;
  options.max_streams = std::max(a.nll.n_sequences, a.gen.n_jams);
  auto engine = create_backend(BackendKind::kCpu, *weights, options);
  if (!engine.ok()) return fail(std::string(engine.status().message()));
  Backend& backend = *engine->backend;
  std::vector<data::TokenFile> splits;
  for (const char* name : {"train", "validation", "test"}) {
    auto file = data::read_token_file(a.tokens_dir + "/" + name + ".tok");
    if (!file.ok()) return fail(std::string(file.status().message()));
    splits.push_back(*std::move(file));
  }
  const eval::Bigram bigram = eval::fit_bigram(splits[0].tokens, backend.config().n_vocab);
  auto val = eval::evaluate_nll(backend, splits[1].tokens, bigram, a.nll);
  auto test = eval::evaluate_nll(backend, splits[2].tokens, bigram, a.nll);
  if (!val.ok() || !test.ok()) return fail(std::string((val.ok() ? test : val).status().message()));
  const double nll_tokens_per_s =
      static_cast<double>(val->n_predictions + test->n_predictions) / (val->seconds + test->seconds);
  std::printf("jamd-eval: NLL over %lld + %lld tokens (%d songs per split), %.0f tokens/s batched\n",
              static_cast<long long>(val->n_predictions), static_cast<long long>(test->n_predictions),
              a.nll.n_sequences, nll_tokens_per_s);
  auto gen = eval::evaluate_generation(backend, splits[2].tokens, a.gen);
  if (!gen.ok()) return fail(std::string(gen.status().message()));
  std::printf("jamd-eval: generated %lld bars in %d jams (batched), %lld tokens in %.2f s: %.0f "
              "tokens/s, %.1f ms per jam-bar\n",
              static_cast<long long>(gen->bars), a.gen.n_jams, static_cast<long long>(gen->tokens),
              gen->seconds, static_cast<double>(gen->tokens) / gen->seconds,
              1000.0 * gen->seconds / static_cast<double>(gen->bars));
  const std::vector<Row> rows = build_rows(*val, *test, *gen);
  print_table(rows);
  if (!write_json(a.out, a, rows, *gen, nll_tokens_per_s)) return fail("cannot write " + a.out);
  std::printf("\nwrote %s\n", a.out.c_str());
  const bool all = std::all_of(rows.begin(), rows.end(), [](const Row& r) { return r.pass; });
  return all ? 0 : 3;
}
