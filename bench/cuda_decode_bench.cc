// cuda_decode_bench: batched decode on the CUDA backend vs batch size (jams). Prints a table of
// step latency p50/p99, tokens/s, jams in real time, memory per jam and the model's bandwidth /
// compute floor, and writes the same rows as TSV (--out). Run by scripts/gpu-check.sh.
//
//   cuda_decode_bench --precision=reduced --batches=1,64,1024,16384 --out=cuda_decode.tsv
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "models/cuda/cuda_backend_factory.h"
#include "models/engine/weight_file.h"

namespace jamd::models {
namespace {

// A jam needs 64 tokens/s: 128 tokens per 2-second bar (4/4 at 120 BPM, four parts with
// position, pitch, velocity and duration tokens; see docs/cuda.md, "Real time").
constexpr double kTokensPerSecondPerJam = 64.0;
// Ceilings measured on the lent H100 (../.library/device KINDS.md; remeasured by gpu-check.sh
// through PyTorch): device-to-device copy 3.0 TB/s (read + write), bf16 products 798 TFLOP/s.
// Float32 without TF32 runs on the CUDA cores: 67 TFLOP/s on the H100 SXM datasheet.
constexpr double kBandwidthBytesPerS = 3.0e12;
constexpr double kTensorFlopsPerS = 798e12;
constexpr double kFloat32FlopsPerS = 67e12;

struct Args {
  std::vector<int> batches = {1, 16, 64, 256, 1024, 4096, 8192, 10240, 16384};
  int steps = 100;
  int warmup = 10;
  int context = 512;  // tokens each jam holds before timing (a full default window)
  std::string precision = "both";
  std::string model;  // a .jamd; empty: random weights of the default shape
  std::string out = "cuda_decode.tsv";
  std::string save_model;  // writes the weights used, for torch_cuda_reference.py
};

bool parse(int argc, char** argv, Args* a) {
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&](const char* key) -> const char* {
      const size_t n = std::strlen(key);
      return s.compare(0, n, key) == 0 ? s.c_str() + n : nullptr;
    };
    if (const char* v = value("--batches=")) {
      a->batches.clear();
      for (const char* p = v; *p;) {
        a->batches.push_back(std::atoi(p));
        const char* comma = std::strchr(p, ',');
        p = comma ? comma + 1 : p + std::strlen(p);
      }
    } else if (const char* v2 = value("--steps=")) {
      a->steps = std::atoi(v2);
    } else if (const char* v3 = value("--context=")) {
      a->context = std::atoi(v3);
    } else if (const char* v4 = value("--precision=")) {
      a->precision = v4;
    } else if (const char* v5 = value("--model=")) {
      a->model = v5;
    } else if (const char* v6 = value("--out=")) {
      a->out = v6;
    } else if (const char* v7 = value("--save-model=")) {
      a->save_model = v7;
    } else {
      std::fprintf(stderr,
                   "usage: cuda_decode_bench [--batches=1,16,...] [--steps=N] [--context=N]\n"
                   "  [--precision=fp32|reduced|both] [--model=file.jamd] [--out=file.tsv]\n"
                   "  [--save-model=file.jamd]\n");
      return false;
    }
  }
  return !a->batches.empty() && a->steps > 0;
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

struct Floor {
  double bytes, flops, ms;
};

// The least a step must move and compute: every weight once, every jam's window of K and V
// once, the new K/V and logits written once; 2 flops per weight per row plus attention.
Floor floor_for(const ModelConfig& c, int batch, int context, int element_bytes, bool reduced) {
  const double window = std::min(context, c.attention_window);
  const double weights =
      static_cast<double>(c.n_params() - int64_t{c.n_vocab} * c.d_model * (c.tied_output ? 0 : 1)) *
      element_bytes;
  const double kv_read = 2.0 * batch * c.n_layers * window * c.kv_dim() * element_bytes;
  const double logits = 4.0 * batch * c.n_vocab;
  const double bytes = weights + kv_read + logits;
  const double matmul_params = static_cast<double>(c.n_params()) - static_cast<double>(c.n_vocab) *
                                                                       c.d_model *
                                                                       (c.tied_output ? 0.0 : 1.0);
  const double flops =
      2.0 * batch * matmul_params + 4.0 * batch * c.n_layers * c.n_heads * window * c.head_dim();
  const double ms = 1e3 * std::max(bytes / kBandwidthBytesPerS,
                                   flops / (reduced ? kTensorFlopsPerS : kFloat32FlopsPerS));
  return {bytes, flops, ms};
}

int run(const Args& args) {
  std::shared_ptr<const WeightFile> weights;
  if (!args.model.empty()) {
    auto w = WeightFile::open(args.model);
    if (!w.ok()) return std::fprintf(stderr, "%s\n", std::string(w.status().message()).c_str()), 1;
    weights = *w;
  } else {
    ModelConfig c;
    c.n_vocab = 400, c.d_model = 256, c.n_layers = 4, c.n_heads = 8, c.n_kv_heads = 2;
    c.d_ff = 704, c.attention_window = 512;
    auto bytes = random_weight_file(c, 1);
    if (!args.save_model.empty()) (void)write_file_atomically(args.save_model, *bytes);
    weights = *WeightFile::from_bytes(std::move(*bytes));
  }
  auto device = probe_cuda_device(0);
  if (!device.ok()) {
    std::fprintf(stderr, "no CUDA device: %s\n", std::string(device.status().message()).c_str());
    return 2;
  }
  const ModelConfig& c = weights->config();
  std::FILE* tsv = std::fopen(args.out.c_str(), "w");
  if (tsv == nullptr) return std::fprintf(stderr, "cannot write %s\n", args.out.c_str()), 1;
  std::fprintf(tsv,
               "precision\tbatch\tstep_p50_ms\tstep_p99_ms\tdevice_p50_ms\tdevice_p99_ms\t"
               "copy_p50_ms\tpinned_p50_ms\tpinned_p99_ms\ttokens_per_s\tjams_real_time\tkv_mib_"
               "per_jam\tfloor_ms\t"
               "floor_gb\tfloor_gflop\tdevice_over_floor\n");
  std::printf("device: %s; model: %d params, window %d, context %d; a jam needs %.0f tokens/s\n",
              device->c_str(), static_cast<int>(c.n_params()), c.attention_window, args.context,
              kTokensPerSecondPerJam);
  std::printf("%-5s %6s %9s %9s %9s %9s %9s %9s %7s %10s %9s %7s %9s %7s\n", "prec", "jams",
              "step p50", "step p99", "pin p50", "pin p99", "dev p50", "dev p99", "copy",
              "tokens/s", "real-time", "KV MiB", "floor ms", "x floor");
  const int max_batch = *std::max_element(args.batches.begin(), args.batches.end());
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> token(0, c.n_vocab - 1);
  for (Precision p : {Precision::kFloat32, Precision::kReduced}) {
    const bool reduced = p == Precision::kReduced;
    if ((args.precision == "fp32" && reduced) || (args.precision == "reduced" && !reduced))
      continue;
    BackendOptions o;
    o.precision = p;
    o.max_streams = max_batch;
    auto backend = make_cuda_backend(weights, o);
    if (!backend.ok()) {
      std::printf("%s: %s\n", reduced ? "reduced" : "fp32",
                  std::string(backend.status().message()).c_str());
      continue;
    }
    Backend& b = **backend;
    std::vector<DecodeStep> steps(static_cast<size_t>(max_batch));
    for (DecodeStep& s : steps) s.stream = *b.open_stream();
    std::vector<float> logits(static_cast<size_t>(max_batch) * c.n_vocab);
    // seam: Backend::decode() into the caller's buffer; else Backend::decode_view() (no host copy).
    auto step = [&](int n, bool seam = true) {
      for (int i = 0; i < n; ++i) steps[static_cast<size_t>(i)].token = token(rng);
      const auto batch_steps = std::span(steps).first(static_cast<size_t>(n));
      absl::Status s = seam ? b.decode(batch_steps, logits) : b.decode_view(batch_steps).status();
      if (!s.ok()) {
        std::fprintf(stderr, "decode: %s\n", std::string(s.message()).c_str());
        std::exit(1);
      }
    };
    for (int i = 0; i < args.context; ++i) step(max_batch);  // every jam holds `context` tokens
    const double kv_mib = static_cast<double>(b.caps().bytes_per_stream) / (1 << 20);
    for (int batch : args.batches) {
      for (int i = 0; i < args.warmup; ++i) step(batch);
      std::vector<double> wall, pinned, dev, copy;
      for (int i = 0; i < 2 * args.steps; ++i) {
        const bool seam = i % 2 == 0;
        const auto t0 = std::chrono::steady_clock::now();
        step(batch, seam);
        const auto t1 = std::chrono::steady_clock::now();
        (seam ? wall : pinned)
            .push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        const CudaStepTiming t = *cuda_last_step_timing(b);
        dev.push_back(t.device_step_ms);
        copy.push_back(t.logits_copy_ms);
      }
      double mean = 0;
      for (double w : wall) mean += w / static_cast<double>(wall.size());
      const double p99 = percentile(wall, 0.99);
      const double tokens_per_s = batch * 1e3 / mean;
      // Every jam keeps up when even a slow (p99) step gives it 64 tokens/s.
      const int real_time = 1e3 / p99 >= kTokensPerSecondPerJam ? batch : 0;
      const Floor f = floor_for(c, batch, args.context, reduced ? 2 : 4, reduced);
      const double dev50 = percentile(dev, 0.5);
      const double pin50 = percentile(pinned, 0.5), pin99 = percentile(pinned, 0.99);
      std::printf(
          "%-5s %6d %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f %7.3f %10.0f %9d %7.2f %9.4f %7.1f\n",
          reduced ? "fp16" : "fp32", batch, percentile(wall, 0.5), p99, pin50, pin99, dev50,
          percentile(dev, 0.99), percentile(copy, 0.5), tokens_per_s, real_time, kv_mib, f.ms,
          dev50 / f.ms);
      std::fprintf(tsv,
                   "%s\t%d\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.0f\t%d\t%.3f\t%.5f\t%.4f\t"
                   "%.3f\t%.2f\n",
                   reduced ? "fp16" : "fp32", batch, percentile(wall, 0.5), p99, dev50,
                   percentile(dev, 0.99), percentile(copy, 0.5), pin50, pin99, tokens_per_s,
                   real_time, kv_mib, f.ms, f.bytes / 1e9, f.flops / 1e9, dev50 / f.ms);
      std::fflush(stdout);
    }
  }
  std::fclose(tsv);
  return 0;
}

}  // namespace
}  // namespace jamd::models

int main(int argc, char** argv) {
  jamd::models::Args args;
  if (!jamd::models::parse(argc, argv, &args)) return 64;
  return jamd::models::run(args);
}
