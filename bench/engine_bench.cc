// engine_bench: the CPU backend's generation speed on random weights of the bundled model's size
// (or a trained model): ms per 128-token bar and tokens/s for 1, 8 and 32 streams on 1 and 2
// threads, prefill speed, forced tokens (prefill vs decode per token), and PyTorch eager at
// batch 1 on the same weights in the same run (bench/engine_bench_torch.py).
//
//   build-h1/bench/engine_bench [--d-model 256 --n-layers 4 ... | --model models/band.jamd]
//                               [--bars 5 --torch-tokens 384 --no-torch --out engine_bench.json]
//   # one row while tuning: --streams 1 --threads 1 --precision fp32 --no-prefill --no-torch
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "models/engine/cpu_backend.h"
#include "models/engine/cpu_kernels.h"
#include "models/engine/weight_file.h"

#ifndef JAMD_SOURCE_DIR
#error "JAMD_SOURCE_DIR names the repository root (bench/CMakeLists.txt)"
#endif

namespace {

using jamd::models::Backend;
using jamd::models::BackendOptions;
using jamd::models::DecodeStep;
using jamd::models::ModelConfig;
using jamd::models::StreamId;
using Clock = std::chrono::steady_clock;

constexpr int kTokensPerBar = 128;  // a 2 s four-part bar (TARGETS.md)

struct Args {
  ModelConfig config;
  int bars = 4;
  int torch_tokens = 384;
  bool torch = true;
  std::string out = "engine_bench.json";
  std::string model;  // a trained .jamd instead of random weights
  // Only these rows of the decode table when >= 0 / not empty (quick runs while tuning).
  int only_streams = -1;
  int only_threads = -1;
  std::string only_precision;
  bool prefill = true;
};

// Process CPU seconds: on a shared machine, 1-thread CPU time does not count time spent
// descheduled, so it is the steadier figure there.
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

Args parse(int argc, char** argv) {
  Args a;
  ModelConfig& c = a.config;
  c.n_vocab = 400;
  c.d_model = 256;
  c.n_layers = 4;
  c.n_heads = 8;
  c.n_kv_heads = 2;
  c.d_ff = 704;
  c.attention_window = 512;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    auto next = [&]() -> int {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "engine_bench: %s needs a value\n", f.c_str());
        std::exit(2);
      }
      return std::atoi(argv[++i]);
    };
    // clang-format off
    if (f == "--n-vocab") c.n_vocab = next();
    else if (f == "--d-model") c.d_model = next();
    else if (f == "--n-layers") c.n_layers = next();
    else if (f == "--n-heads") c.n_heads = next();
    else if (f == "--n-kv-heads") c.n_kv_heads = next();
    else if (f == "--d-ff") c.d_ff = next();
    else if (f == "--attention-window") c.attention_window = next();
    else if (f == "--bars") a.bars = next();
    else if (f == "--torch-tokens") a.torch_tokens = next();
    else if (f == "--no-torch") a.torch = false;
    else if (f == "--no-prefill") a.prefill = false;
    else if (f == "--streams") a.only_streams = next();
    else if (f == "--threads") a.only_threads = next();
    else if (f == "--precision" && i + 1 < argc) a.only_precision = argv[++i];
    else if (f == "--out" && i + 1 < argc) a.out = argv[++i];
    else if (f == "--model" && i + 1 < argc) a.model = argv[++i];
    // clang-format on
    else {
      std::fprintf(
          stderr,
          "usage: engine_bench [--n-vocab N --d-model N --n-layers N --n-heads N "
          "--n-kv-heads N --d-ff N --attention-window N --bars N --torch-tokens N "
          "--no-torch --no-prefill --streams N --threads N --precision fp32|bf16 --out FILE | "
          "--model band.jamd]\n");
      std::exit(2);
    }
  }
  return a;
}

struct Row {
  const char* precision;
  int threads, streams;
  double ms_per_bar, tokens_per_s, cpu_ms_per_bar;
  // The fastest bar's CPU time: under the team's load the least disturbed measure of the code.
  double best_cpu_ms_per_bar;
};

// Decodes bars of kTokensPerBar tokens for n_streams streams at once, each first filled to a
// full attention window (the steady state of a long jam). Returns ms per bar (all streams) and
// generated tokens/s.
Row measure_decode(std::shared_ptr<const jamd::models::WeightFile> w, int threads, int n_streams,
                   int bars, jamd::models::Precision precision) {
  BackendOptions o;
  o.threads = threads;
  o.precision = precision;
  o.max_streams = std::max(n_streams, 1);
  auto b = jamd::models::make_cpu_backend(w, o);
  if (!b.ok()) {
    std::fprintf(stderr, "engine_bench: %s\n", std::string(b.status().message()).c_str());
    std::exit(1);
  }
  const ModelConfig& c = w->config();
  std::vector<int32_t> context(static_cast<size_t>(c.attention_window));
  for (size_t i = 0; i < context.size(); ++i)
    context[i] = static_cast<int32_t>((i * 31 + 7) % c.n_vocab);
  std::vector<DecodeStep> steps;
  for (int s = 0; s < n_streams; ++s) {
    const StreamId id = *(*b)->open_stream();
    if (!(*b)->prefill(id, context, {}).ok()) std::exit(1);
    steps.push_back(DecodeStep{id, 1});
  }
  std::vector<float> logits(static_cast<size_t>(n_streams) * c.n_vocab);
  auto run_bar = [&] {
    for (int t = 0; t < kTokensPerBar; ++t) {
      if (!(*b)->decode(steps, logits).ok()) std::exit(1);
      // Feed back the argmax so the work depends on the output like real sampling.
      for (int s = 0; s < n_streams; ++s) {
        const float* row = logits.data() + static_cast<size_t>(s) * c.n_vocab;
        steps[static_cast<size_t>(s)].token =
            static_cast<int32_t>(std::max_element(row, row + c.n_vocab) - row);
      }
    }
  };
  run_bar();  // warm-up: caches, page faults, thread wake-up
  std::vector<double> bar_s, bar_cpu_s;
  for (int i = 0; i < bars; ++i) {
    const auto t0 = Clock::now();
    const double c0 = cpu_seconds();
    run_bar();
    bar_s.push_back(seconds_since(t0));
    bar_cpu_s.push_back(cpu_seconds() - c0);
  }
  std::sort(bar_s.begin(), bar_s.end());
  std::sort(bar_cpu_s.begin(), bar_cpu_s.end());
  const double median = bar_s[bar_s.size() / 2];
  return Row{(*b)->caps().precision == jamd::models::Precision::kReduced ? "bf16" : "fp32",
             threads,
             n_streams,
             median * 1e3,
             n_streams * kTokensPerBar / median,
             bar_cpu_s[bar_cpu_s.size() / 2] * 1e3,
             bar_cpu_s.front() * 1e3};
}

double measure_prefill(std::shared_ptr<const jamd::models::WeightFile> w, int threads) {
  BackendOptions o;
  o.threads = threads;
  auto b = jamd::models::make_cpu_backend(w, o);
  const ModelConfig& c = w->config();
  std::vector<int32_t> tokens(static_cast<size_t>(2 * c.attention_window));
  for (size_t i = 0; i < tokens.size(); ++i)
    tokens[i] = static_cast<int32_t>((i * 17 + 5) % c.n_vocab);
  std::vector<float> logits(static_cast<size_t>(c.n_vocab));
  double best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    const StreamId s = *(*b)->open_stream();
    const auto t0 = Clock::now();
    if (!(*b)->prefill(s, tokens, logits).ok()) std::exit(1);
    best = std::min(best, seconds_since(t0));
    (*b)->close_stream(s);
  }
  return static_cast<double>(tokens.size()) / best;
}

// Forced tokens (the conductor re-feeding a bar's committed notes): CPU microseconds per token
// when n_tokens known tokens go in as one prefill call, and as n_tokens one-token decode steps,
// into one stream at a full window. Each round is undone with truncate(), so every round starts
// from the same steady state. Best of `rounds` (the least disturbed by the machine's load).
struct ForcedCost {
  int n_tokens = 0;
  double prefill_us_per_token = 0, decode_us_per_token = 0;
};

ForcedCost measure_forced(std::shared_ptr<const jamd::models::WeightFile> w, int n_tokens,
                          int rounds) {
  BackendOptions o;
  o.rollback_tokens = std::max(o.rollback_tokens, n_tokens);
  auto b = jamd::models::make_cpu_backend(w, o);
  if (!b.ok()) std::exit(1);
  Backend& engine = **b;
  const ModelConfig& c = w->config();
  std::vector<int32_t> context(static_cast<size_t>(c.attention_window)), forced(n_tokens);
  for (size_t i = 0; i < context.size(); ++i)
    context[i] = static_cast<int32_t>((i * 31 + 7) % c.n_vocab);
  for (size_t i = 0; i < forced.size(); ++i)
    forced[i] = static_cast<int32_t>((i * 13 + 2) % c.n_vocab);
  const StreamId s = *engine.open_stream();
  std::vector<float> logits(static_cast<size_t>(c.n_vocab));
  if (!engine.prefill(s, context, {}).ok()) std::exit(1);
  const int64_t start = engine.stream_position(s);
  double best_prefill = 1e30, best_decode = 1e30;
  for (int round = 0; round <= rounds; ++round) {  // round 0 warms up
    double c0 = cpu_seconds();
    if (!engine.prefill(s, forced, logits).ok()) std::exit(1);
    const double prefill_s = cpu_seconds() - c0;
    if (!engine.truncate(s, start).ok()) std::exit(1);
    c0 = cpu_seconds();
    for (int32_t token : forced) {
      DecodeStep step{s, token};
      if (!engine.decode({&step, 1}, logits).ok()) std::exit(1);
    }
    const double decode_s = cpu_seconds() - c0;
    if (!engine.truncate(s, start).ok()) std::exit(1);
    if (round == 0) continue;
    best_prefill = std::min(best_prefill, prefill_s);
    best_decode = std::min(best_decode, decode_s);
  }
  return ForcedCost{n_tokens, best_prefill / n_tokens * 1e6, best_decode / n_tokens * 1e6};
}

constexpr int kErrorTokens = 600;

// How far kReduced's logits are from float32's on the same tokens: max |diff| over the largest
// |logit| (the measure the CUDA parity test reports), past the attention window.
double reduced_logit_error(std::shared_ptr<const jamd::models::WeightFile> w) {
  const ModelConfig& c = w->config();
  BackendOptions fp32, reduced;
  reduced.precision = jamd::models::Precision::kReduced;
  auto b32 = jamd::models::make_cpu_backend(w, fp32);
  auto b16 = jamd::models::make_cpu_backend(w, reduced);
  if (!b32.ok() || !b16.ok()) return -1;
  const StreamId s32 = *(*b32)->open_stream(), s16 = *(*b16)->open_stream();
  std::vector<float> l32(static_cast<size_t>(c.n_vocab)), l16(l32.size());
  double worst = 0, largest = 0;
  for (int t = 0; t < kErrorTokens; ++t) {
    const int32_t token = static_cast<int32_t>((t * 37 + 11) % c.n_vocab);
    DecodeStep a{s32, token}, b{s16, token};
    if (!(*b32)->decode({&a, 1}, l32).ok() || !(*b16)->decode({&b, 1}, l16).ok()) return -1;
    for (size_t v = 0; v < l32.size(); ++v) {
      worst = std::max(worst, static_cast<double>(std::fabs(l32[v] - l16[v])));
      largest = std::max(largest, static_cast<double>(std::fabs(l32[v])));
    }
  }
  return worst / largest;
}

struct TorchRate {
  double wall_tokens_per_s = -1, cpu_tokens_per_s = -1;
};

// PyTorch eager, batch 1, one thread, same weights: tokens/s from engine_bench_torch.py.
TorchRate measure_torch(const std::string& model_path, int n_tokens, int window) {
  const std::string cmd = std::string("/usr/bin/python3 ") + JAMD_SOURCE_DIR +
                          "/bench/engine_bench_torch.py --model " + model_path + " --tokens " +
                          std::to_string(n_tokens) + " --context " + std::to_string(window);
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return {};
  char line[512];
  TorchRate rate;
  while (std::fgets(line, sizeof line, p) != nullptr) {
    if (std::sscanf(line, "tokens_per_s %lf %lf", &rate.wall_tokens_per_s,
                    &rate.cpu_tokens_per_s) != 2) {
      std::fputs(line, stderr);
    }
  }
  if (pclose(p) != 0) {
    std::fprintf(stderr, "engine_bench: `%s` failed (needs python3-torch)\n", cmd.c_str());
    return {};
  }
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  std::string model_path = a.model;
  const bool temporary = model_path.empty();
  if (temporary) {
    auto bytes = jamd::models::random_weight_file(a.config, 1);
    if (!bytes.ok()) {
      std::fprintf(stderr, "engine_bench: %s\n", std::string(bytes.status().message()).c_str());
      return 1;
    }
    model_path = (std::filesystem::temp_directory_path() /
                  ("engine_bench_" + std::to_string(getpid()) + ".jamd"))
                     .string();
    if (!jamd::models::write_file_atomically(model_path, *bytes).ok()) return 1;
  }
  auto w = jamd::models::WeightFile::open(model_path);
  if (!w.ok()) {
    std::fprintf(stderr, "engine_bench: %s\n", std::string(w.status().message()).c_str());
    return 1;
  }
  const ModelConfig& c = (*w)->config();
  std::printf(
      "model: %s, n_vocab %d d_model %d n_layers %d n_heads %d n_kv_heads %d d_ff %d "
      "window %d (%.2f M params), kernels %s\n",
      temporary ? "random weights" : model_path.c_str(), c.n_vocab, c.d_model, c.n_layers,
      c.n_heads, c.n_kv_heads, c.d_ff, c.attention_window, c.n_params() / 1e6,
      jamd::models::cpu::best_kernels().name);
  std::printf("\n%-6s %-8s %-8s %12s %14s %14s %12s %16s\n", "prec", "threads", "streams", "ms/bar",
              "cpu ms/bar", "best cpu ms", "tokens/s", "x real time");
  std::vector<Row> rows;
  using jamd::models::Precision;
  for (auto [precision, threads] :
       {std::pair{Precision::kFloat32, 1}, {Precision::kFloat32, 2}, {Precision::kReduced, 1}}) {
    const bool fp32 = precision == Precision::kFloat32;
    if (a.only_threads >= 0 && threads != a.only_threads) continue;
    if (!a.only_precision.empty() && (a.only_precision == "fp32") != fp32) continue;
    for (int streams : {1, 8, 32}) {
      if (a.only_streams >= 0 && streams != a.only_streams) continue;
      const Row r = measure_decode(*w, threads, streams, a.bars, precision);
      rows.push_back(r);
      // A bar is 2 s of music for each stream: all jams together run 2000 / ms_per_bar * streams
      // times faster than real time.
      std::printf("%-6s %-8d %-8d %12.2f %14.2f %14.2f %12.0f %16.1f\n", r.precision, r.threads,
                  r.streams, r.ms_per_bar, r.cpu_ms_per_bar, r.best_cpu_ms_per_bar, r.tokens_per_s,
                  2000.0 / r.ms_per_bar * r.streams);
      std::fflush(stdout);
    }
  }
  double prefill1 = -1, prefill2 = -1;
  if (a.prefill) {
    prefill1 = measure_prefill(*w, 1);
    prefill2 = measure_prefill(*w, 2);
    std::printf("\nprefill of %d tokens: %.0f tokens/s (1 thread), %.0f tokens/s (2 threads)\n",
                2 * c.attention_window, prefill1, prefill2);
  }
  std::vector<ForcedCost> forced;
  if (a.prefill) {
    std::printf("\nforced tokens into a stream at a full window, fp32, 1 thread, best of %d:\n",
                a.bars);
    std::printf("%-8s %16s %16s %10s\n", "tokens", "prefill us/tok", "decode us/tok", "speed-up");
    for (int n : {8, 32, 64}) {
      const ForcedCost f = measure_forced(*w, n, a.bars);
      forced.push_back(f);
      std::printf("%-8d %16.1f %16.1f %9.1fx\n", n, f.prefill_us_per_token, f.decode_us_per_token,
                  f.decode_us_per_token / f.prefill_us_per_token);
    }
  }
  // The PyTorch ratio compares with the fp32, 1-thread, 1-stream row.
  const auto batch1 = std::find_if(rows.begin(), rows.end(), [](const Row& r) {
    return std::strcmp(r.precision, "fp32") == 0 && r.threads == 1 && r.streams == 1;
  });
  TorchRate torch;
  if (a.torch && batch1 != rows.end()) {
    torch = measure_torch(model_path, a.torch_tokens, c.attention_window);
  }
  const double cpp_tps = batch1 != rows.end() ? batch1->tokens_per_s : -1;
  const double cpp_cpu_tps =
      batch1 != rows.end() ? kTokensPerBar / (batch1->cpu_ms_per_bar * 1e-3) : -1;
  const double torch_tps = torch.wall_tokens_per_s;
  if (torch_tps > 0) {
    std::printf("\nbatch 1, 1 thread, float32, tokens/s    wall    CPU time\n");
    std::printf("  C++ engine                     %8.0f %10.0f\n", cpp_tps, cpp_cpu_tps);
    std::printf("  PyTorch eager (same weights)   %8.0f %10.0f\n", torch_tps,
                torch.cpu_tokens_per_s);
    std::printf("  ratio                          %7.1fx %9.1fx\n", cpp_tps / torch_tps,
                cpp_cpu_tps / torch.cpu_tokens_per_s);
  }
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("peak RSS %.1f MB\n", ru.ru_maxrss / 1024.0);
  const double reduced_diff = a.only_precision.empty() ? reduced_logit_error(*w) : -1;
  std::printf("kReduced vs float32 logits over %d tokens: max |diff| / max |logit| = %.2g\n",
              kErrorTokens, reduced_diff);
  if (temporary) std::filesystem::remove(model_path);

  std::ofstream out(a.out);
  out << "{\n  \"decode\": [\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    out << "    {\"precision\": \"" << rows[i].precision << "\", \"threads\": " << rows[i].threads
        << ", \"streams\": " << rows[i].streams << ", \"ms_per_bar\": " << rows[i].ms_per_bar
        << ", \"cpu_ms_per_bar\": " << rows[i].cpu_ms_per_bar
        << ", \"best_cpu_ms_per_bar\": " << rows[i].best_cpu_ms_per_bar
        << ", \"tokens_per_s\": " << rows[i].tokens_per_s << "}" << (i + 1 < rows.size() ? "," : "")
        << "\n";
  }
  out << "  ],\n  \"forced_tokens\": [";
  for (size_t i = 0; i < forced.size(); ++i) {
    out << (i ? ", " : "") << "{\"tokens\": " << forced[i].n_tokens
        << ", \"prefill_us_per_token\": " << forced[i].prefill_us_per_token
        << ", \"decode_us_per_token\": " << forced[i].decode_us_per_token << "}";
  }
  out << "],\n  \"prefill_tokens_per_s\": {\"1\": " << prefill1 << ", \"2\": " << prefill2
      << "},\n  \"torch_eager_tokens_per_s\": " << torch_tps
      << ",\n  \"torch_eager_cpu_tokens_per_s\": " << torch.cpu_tokens_per_s
      << ",\n  \"cpp_over_torch\": " << (torch_tps > 0 ? cpp_tps / torch_tps : -1)
      << ",\n  \"reduced_relative_logit_error\": " << reduced_diff
      << ",\n  \"cpp_over_torch_cpu_time\": "
      << (torch_tps > 0 ? cpp_cpu_tps / torch.cpu_tokens_per_s : -1)
      << ",\n  \"peak_rss_mb\": " << ru.ru_maxrss / 1024.0 << "\n}\n";
  std::printf("wrote %s\n", a.out.c_str());
  return 0;
}
