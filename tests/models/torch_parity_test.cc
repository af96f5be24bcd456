// The C++ CPU engine reproduces its PyTorch twin (models/train/model.py) on the same weights and
// tokens: max |logit difference| <= 1e-4 at every position, past several attention windows.
// The reference comes from models/train/parity_reference.py, run at test time.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "models/engine/cpu_backend.h"
#include "models/engine/weight_file.h"

#ifndef JAMD_PYTHON
#error "JAMD_PYTHON must name the Python interpreter that has torch (tests/models/CMakeLists.txt)"
#endif
#ifndef JAMD_BUNDLED_MODEL
#error "JAMD_BUNDLED_MODEL must name models/band.jamd"
#endif
#ifndef JAMD_PARITY_SCRIPT
#error "JAMD_PARITY_SCRIPT must name models/train/parity_reference.py"
#endif

namespace jamd::models {
namespace {

// TARGETS.md: C++ vs PyTorch logits on the same tokens (fp32).
constexpr float kMaxLogitDiff = 1e-4f;

template <typename T>
std::vector<T> read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<T> out(bytes.size() / sizeof(T));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
  return out;
}

// Each configuration's reference is generated once per process (importing torch takes seconds);
// the folders go when the suite ends.
class TorchParity : public ::testing::TestWithParam<std::string> {
 public:
  static void TearDownTestSuite() {
    for (const auto& [args, dir] : references()) std::filesystem::remove_all(dir);
    references().clear();
  }

 protected:
  static std::map<std::string, std::filesystem::path>& references() {
    static auto* refs = new std::map<std::string, std::filesystem::path>();
    return *refs;
  }

  // Runs the reference script for this configuration; a missing python3 or torch fails here,
  // loudly.
  void run_reference(const std::string& extra_args) {
    auto found = references().find(extra_args);
    if (found != references().end()) {
      dir_ = found->second;
      return;
    }
    dir_ = std::filesystem::temp_directory_path() / ("jamd_parity_" + std::to_string(::getpid()) +
                                                     "_" + std::to_string(references().size()));
    std::filesystem::create_directories(dir_);
    const std::string cmd = std::string(JAMD_PYTHON) + " " + JAMD_PARITY_SCRIPT + " --out " +
                            dir_.string() + " " + extra_args + " 2>&1";
    const int rc = std::system(cmd.c_str());
    ASSERT_EQ(rc, 0) << "the PyTorch reference failed: `" << cmd
                     << "`. It needs /usr/bin/python3 with torch and numpy (Debian packages "
                        "python3-torch python3-numpy; scripts/setup.sh installs them).";
    references()[extra_args] = dir_;
  }

  std::filesystem::path dir_;
};

TEST_P(TorchParity, CpuLogitsMatchPyTorchAtEveryPosition) {
  ASSERT_NO_FATAL_FAILURE(run_reference(GetParam()));
  auto weights = WeightFile::open((dir_ / "model.jamd").string());
  ASSERT_TRUE(weights.ok()) << weights.status();
  const ModelConfig& c = (*weights)->config();
  const std::vector<int32_t> tokens = read_all<int32_t>(dir_ / "tokens.i32");
  const std::vector<float> expected = read_all<float>(dir_ / "logits.f32");
  ASSERT_GT(tokens.size(), static_cast<size_t>(c.attention_window));  // past the window
  ASSERT_EQ(expected.size(), tokens.size() * static_cast<size_t>(c.n_vocab));

  BackendOptions options;
  options.rollback_tokens = 4;  // a small ring: wraps many times over the sequence
  auto backend = make_cpu_backend(*weights, options);
  ASSERT_TRUE(backend.ok()) << backend.status();
  Backend& b = **backend;
  const StreamId s = *b.open_stream();
  std::vector<float> logits(static_cast<size_t>(c.n_vocab));
  float worst = 0.0f;
  size_t worst_at = 0;
  for (size_t t = 0; t < tokens.size(); ++t) {
    // Alternate decode steps and short prefills so both paths are checked against PyTorch.
    if (t % 3 == 2) {
      ASSERT_TRUE(b.prefill(s, {&tokens[t], 1}, logits).ok());
    } else {
      DecodeStep step{s, tokens[t]};
      ASSERT_TRUE(b.decode({&step, 1}, logits).ok());
    }
    for (size_t v = 0; v < logits.size(); ++v) {
      const float diff = std::fabs(logits[v] - expected[t * logits.size() + v]);
      if (!(diff <= worst)) {
        worst = diff;
        worst_at = t;
      }
    }
  }
  EXPECT_LE(worst, kMaxLogitDiff) << "worst at position " << worst_at;
  std::printf("max |C++ - PyTorch| over %zu positions: %.3g\n", tokens.size(), worst);

  // The whole sequence in one prefill (64-token chunks, the matrix-matrix path, the default
  // ring) ends on the same logits.
  auto chunked = make_cpu_backend(*weights, {});
  ASSERT_TRUE(chunked.ok()) << chunked.status();
  const StreamId s2 = *(*chunked)->open_stream();
  ASSERT_TRUE((*chunked)->prefill(s2, tokens, logits).ok());
  const size_t last = (tokens.size() - 1) * logits.size();
  float worst_chunked = 0.0f;
  for (size_t v = 0; v < logits.size(); ++v)
    worst_chunked = std::max(worst_chunked, std::fabs(logits[v] - expected[last + v]));
  EXPECT_LE(worst_chunked, kMaxLogitDiff);
}

INSTANTIATE_TEST_SUITE_P(
    Configs, TorchParity,
    ::testing::Values("--seed 7 --d-model 128",  // head_dim 32, the bundled model's
                      "--seed 8 --tied --n-kv-heads 4",
                      "--seed 9 --n-heads 8 --n-kv-heads 1 --d-model 64 "
                      "--attention-window 40 --n-tokens 200",
                      // The bundled, trained model: real weights.
                      "--model " JAMD_BUNDLED_MODEL " --n-tokens 600"));

}  // namespace
}  // namespace jamd::models
