// The CPU backend: decode equals prefill, truncation replays exactly, streams run past the window
// forever, errors are clear, and the fast kernels agree with the portable ones.
#include "models/engine/cpu_backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "models/engine/backend_registry.h"
#include "models/engine/cpu_kernels.h"

namespace jamd::models {
namespace {

ModelConfig small_config() {
  ModelConfig c;
  c.n_vocab = 53;
  c.d_model = 32;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.d_ff = 40;
  c.attention_window = 16;
  return c;
}

std::shared_ptr<const WeightFile> small_weights(ModelConfig c = small_config()) {
  auto bytes = random_weight_file(c, 11);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  auto file = WeightFile::from_bytes(std::move(*bytes));
  EXPECT_TRUE(file.ok()) << file.status();
  return *file;
}

std::unique_ptr<Backend> make(BackendOptions options = {}) {
  auto b = make_cpu_backend(small_weights(), options);
  EXPECT_TRUE(b.ok()) << b.status();
  return std::move(*b);
}

std::vector<int32_t> tokens(int n, int salt = 0) {
  std::vector<int32_t> t;
  for (int i = 0; i < n; ++i) t.push_back((i * 7 + salt * 13 + 3) % small_config().n_vocab);
  return t;
}

float max_abs_diff(std::span<const float> a, std::span<const float> b) {
  float m = 0.0f;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// Logits after each token, fed one decode step at a time.
std::vector<std::vector<float>> decode_each(Backend& b, StreamId s, std::span<const int32_t> t) {
  std::vector<std::vector<float>> out;
  for (int32_t tok : t) {
    std::vector<float> logits(static_cast<size_t>(b.config().n_vocab));
    DecodeStep step{s, tok};
    EXPECT_TRUE(b.decode({&step, 1}, logits).ok());
    out.push_back(logits);
  }
  return out;
}

TEST(CpuBackend, DecodeOneByOneEqualsPrefill) {
  auto b = make();
  const auto t = tokens(40);  // past the 16-token window
  StreamId a = *b->open_stream(), p = *b->open_stream();
  const auto stepwise = decode_each(*b, a, t);
  std::vector<float> last(static_cast<size_t>(b->config().n_vocab));
  ASSERT_TRUE(b->prefill(p, t, last).ok());
  EXPECT_LE(max_abs_diff(stepwise.back(), last), 1e-5f);
  EXPECT_EQ(b->stream_position(p), 40);
}

// Forced tokens (the conductor re-feeding a bar's committed notes) into a stream that already
// holds a context, some past the 16-token window and past a prefill chunk: one prefill call
// leaves the same logits and the same cache as one decode step per token.
TEST(CpuBackend, PrefillOfForcedTokensEqualsDecodingThem) {
  BackendOptions options;
  options.rollback_tokens = 100;  // prefill chunks of 64
  for (int n : {1, 8, 32, 64, 100}) {
    auto b = make(options);
    StreamId fed = *b->open_stream(), stepped = *b->open_stream();
    const auto context = tokens(21, 1), forced = tokens(n, 2);
    ASSERT_TRUE(b->prefill(fed, context, {}).ok());
    ASSERT_TRUE(b->prefill(stepped, context, {}).ok());
    std::vector<float> after_prefill(static_cast<size_t>(b->config().n_vocab));
    ASSERT_TRUE(b->prefill(fed, forced, after_prefill).ok());
    const auto after_decodes = decode_each(*b, stepped, forced);
    EXPECT_LE(max_abs_diff(after_prefill, after_decodes.back()), 1e-5f) << n << " tokens";
    EXPECT_EQ(b->stream_position(fed), b->stream_position(stepped));
    // The caches match too: the next tokens give the same logits on both streams.
    const auto next = tokens(20, 3);
    const auto fed_next = decode_each(*b, fed, next), stepped_next = decode_each(*b, stepped, next);
    for (size_t i = 0; i < next.size(); ++i) {
      EXPECT_LE(max_abs_diff(fed_next[i], stepped_next[i]), 1e-5f) << n << " tokens, then " << i;
    }
  }
}

TEST(CpuBackend, BatchedDecodeEqualsSeparateStreams) {
  auto b = make();
  StreamId s0 = *b->open_stream(), s1 = *b->open_stream(), solo = *b->open_stream();
  const auto t0 = tokens(20, 1), t1 = tokens(20, 2);
  const int v = b->config().n_vocab;
  std::vector<float> both(2 * static_cast<size_t>(v));
  for (size_t i = 0; i < t0.size(); ++i) {
    DecodeStep steps[2] = {{s0, t0[i]}, {s1, t1[i]}};
    ASSERT_TRUE(b->decode(steps, both).ok());
  }
  const auto alone = decode_each(*b, solo, t1);
  EXPECT_LE(max_abs_diff({both.data() + v, static_cast<size_t>(v)}, alone.back()), 1e-5f);
}

TEST(CpuBackend, TruncateThenRefeedReproducesLogits) {
  BackendOptions options;
  options.rollback_tokens = 8;
  auto b = make(options);
  StreamId s = *b->open_stream();
  const auto t = tokens(30);
  const auto first = decode_each(*b, s, t);
  // Exactly rollback_tokens back: the window before position 22 must still be in the ring.
  ASSERT_TRUE(b->truncate(s, 22).ok());
  EXPECT_EQ(b->stream_position(s), 22);
  const auto again = decode_each(*b, s, std::span(t).subspan(22));
  for (size_t i = 0; i < again.size(); ++i) EXPECT_LE(max_abs_diff(first[22 + i], again[i]), 1e-6f);
}

TEST(CpuBackend, TruncateThenDifferentTokensMatchesFreshStream) {
  BackendOptions options;
  options.rollback_tokens = 8;
  auto b = make(options);
  StreamId s = *b->open_stream(), fresh = *b->open_stream();
  auto t = tokens(30);
  decode_each(*b, s, t);
  ASSERT_TRUE(b->truncate(s, 25).ok());
  for (size_t i = 25; i < t.size(); ++i) t[i] = (t[i] + 5) % b->config().n_vocab;
  const auto replaced = decode_each(*b, s, std::span(t).subspan(25));
  const auto reference = decode_each(*b, fresh, t);
  EXPECT_LE(max_abs_diff(replaced.back(), reference.back()), 1e-5f);
}

TEST(CpuBackend, RunsPastManyWindowsWithGrowingPositions) {
  auto b = make();
  StreamId s = *b->open_stream();
  std::vector<float> logits(static_cast<size_t>(b->config().n_vocab));
  const auto t = tokens(200);  // 12 windows of 16
  ASSERT_TRUE(b->prefill(s, t, logits).ok());
  EXPECT_EQ(b->stream_position(s), 200);
  for (float x : logits) ASSERT_TRUE(std::isfinite(x));
  // A token's logits see n_layers * (window - 1) tokens back and nothing earlier: a stream
  // whose older history differs must give the same logits.
  StreamId other = *b->open_stream();
  auto t2 = t;
  const size_t reach = 2 * 15;
  for (size_t i = 0; i + reach + 1 < t2.size(); ++i) t2[i] = (t2[i] + 1) % b->config().n_vocab;
  std::vector<float> logits2(logits.size());
  ASSERT_TRUE(b->prefill(other, t2, logits2).ok());
  EXPECT_LE(max_abs_diff(logits, logits2), 1e-5f);
}

TEST(CpuBackend, FarPositionsStayFinite) {
  auto b = make();
  StreamId s = *b->open_stream();
  std::vector<float> logits(static_cast<size_t>(b->config().n_vocab));
  const auto t = tokens(5000);
  ASSERT_TRUE(b->prefill(s, t, logits).ok());
  EXPECT_EQ(b->stream_position(s), 5000);
  for (float x : logits) ASSERT_TRUE(std::isfinite(x));
}

TEST(CpuBackend, RejectsUnknownStream) {
  auto b = make();
  std::vector<float> logits(static_cast<size_t>(b->config().n_vocab));
  const auto t = tokens(3);
  absl::Status st = b->prefill(7, t, logits);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(st.message()).find("stream 7 is not open"), std::string::npos);
  DecodeStep step{-1, 0};
  EXPECT_EQ(b->decode({&step, 1}, logits).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(b->truncate(3, 0).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(b->stream_position(3), -1);
}

TEST(CpuBackend, RejectsTruncateBeyondRollback) {
  BackendOptions options;
  options.rollback_tokens = 4;
  auto b = make(options);
  StreamId s = *b->open_stream();
  ASSERT_TRUE(b->prefill(s, tokens(20), {}).ok());
  absl::Status st = b->truncate(s, 15);
  EXPECT_EQ(st.code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(std::string(st.message()).find("rollback_tokens"), std::string::npos);
  EXPECT_EQ(b->truncate(s, 21).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(b->stream_position(s), 20);
  EXPECT_TRUE(b->truncate(s, 16).ok());
}

TEST(CpuBackend, RejectsTokenOutsideVocabularyWithoutConsumingAny) {
  auto b = make();
  StreamId s = *b->open_stream();
  const std::vector<int32_t> t = {1, 2, b->config().n_vocab};
  absl::Status st = b->prefill(s, t, {});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(st.message()).find("vocabulary"), std::string::npos);
  EXPECT_EQ(b->stream_position(s), 0);
  std::vector<float> logits(static_cast<size_t>(b->config().n_vocab));
  DecodeStep step{s, -1};
  EXPECT_EQ(b->decode({&step, 1}, logits).code(), absl::StatusCode::kInvalidArgument);
}

TEST(CpuBackend, RejectsSameStreamTwiceInOneDecode) {
  auto b = make();
  StreamId s = *b->open_stream();
  std::vector<float> logits(2 * static_cast<size_t>(b->config().n_vocab));
  DecodeStep steps[2] = {{s, 1}, {s, 2}};
  EXPECT_EQ(b->decode(steps, logits).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(b->stream_position(s), 0);
}

TEST(CpuBackend, MaxStreamsIsEnforcedAndClosedSlotsAreReused) {
  BackendOptions options;
  options.max_streams = 2;
  auto b = make(options);
  StreamId a = *b->open_stream();
  StreamId c = *b->open_stream();
  auto third = b->open_stream();
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(b->prefill(a, tokens(10), {}).ok());
  b->close_stream(a);
  EXPECT_EQ(b->stream_position(a), -1);
  auto again = b->open_stream();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(b->stream_position(*again), 0);
  // A reused slot behaves like a new stream: same logits as the other fresh one.
  const auto t = tokens(5);
  const auto x = decode_each(*b, *again, t);
  const auto y = decode_each(*b, c, t);
  EXPECT_LE(max_abs_diff(x.back(), y.back()), 1e-6f);
}

TEST(CpuBackend, TwoThreadsMatchOneThread) {
  BackendOptions one, two;
  two.threads = 2;
  auto b1 = make(one), b2 = make(two);
  const auto t = tokens(37);
  std::vector<float> l1(static_cast<size_t>(b1->config().n_vocab)), l2(l1.size());
  ASSERT_TRUE(b1->prefill(*b1->open_stream(), t, l1).ok());
  ASSERT_TRUE(b2->prefill(*b2->open_stream(), t, l2).ok());
  EXPECT_LE(max_abs_diff(l1, l2), 1e-6f);
  EXPECT_NE(b2->caps().description.find("2 threads"), std::string::npos);
}

TEST(CpuBackend, ReducedPrecisionStaysCloseToFloat32) {
  if (!cpu::bf16_supported()) {
    GTEST_SKIP() << "this CPU has no AVX512-BF16; kReduced runs in float32 here";
  }
  BackendOptions reduced;
  reduced.precision = Precision::kReduced;
  auto b32 = make(), b16 = make(reduced);
  EXPECT_EQ(b16->caps().precision, Precision::kReduced);
  const auto t = tokens(40);
  std::vector<float> l32(static_cast<size_t>(b32->config().n_vocab)), l16(l32.size());
  ASSERT_TRUE(b32->prefill(*b32->open_stream(), t, l32).ok());
  ASSERT_TRUE(b16->prefill(*b16->open_stream(), t, l16).ok());
  const float diff = max_abs_diff(l32, l16);
  EXPECT_LE(diff, 5e-2f);
  EXPECT_GT(diff, 0.0f);  // it really ran in bfloat16
}

TEST(CpuBackend, RegistryCreatesTheCpuBackend) {
  for (BackendKind kind : {BackendKind::kAuto, BackendKind::kCpu}) {
    auto choice = create_backend(kind, small_weights(), {});
    ASSERT_TRUE(choice.ok()) << choice.status();
    if (kind == BackendKind::kCpu) {
      EXPECT_EQ(choice->backend->caps().name, "cpu");
    }
    EXPECT_FALSE(choice->reason.empty());
    StreamId s = *choice->backend->open_stream();
    std::vector<float> logits(static_cast<size_t>(choice->backend->config().n_vocab));
    EXPECT_TRUE(choice->backend->prefill(s, tokens(4), logits).ok());
  }
}

class CpuKernels : public ::testing::TestWithParam<const cpu::Kernels* (*)()> {};

TEST_P(CpuKernels, FastKernelsMatchPortable) {
  const cpu::Kernels* fast = GetParam()();
  if (fast == nullptr) GTEST_SKIP() << "this CPU lacks these kernels' instructions";
  const cpu::Kernels& ref = cpu::portable_kernels();
  const int64_t in = 397;  // odd: every tail of the input loops
  std::vector<float> x(7 * in), w(37 * in);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i));
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::cos(0.11f * static_cast<float>(i));
  // Panels: 37 outputs (two full panels and a padded one); 1 row (the decode kernel), 5 (a
  // partial row tile) and 7 (a full tile and one row).
  const int64_t out = 37;
  std::vector<float> packed(static_cast<size_t>(cpu::packed_floats(out, in)));
  cpu::pack_panels(w.data(), out, in, packed.data());
  for (int64_t rows : {1, 5, 7}) {
    std::vector<float> y1(rows * out), y2(rows * out, -1.0f);
    ref.matmul_packed(x.data(), rows, in, packed.data(), out, 0, 3, out, y1.data());
    fast->matmul_packed(x.data(), rows, in, packed.data(), out, 0, 3, out, y2.data());
    EXPECT_LE(max_abs_diff(y1, y2), 1e-4f) << rows << " rows";
    // Against the row-major definition, too (the packing).
    float worst = 0.0f;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t o = 0; o < out; ++o) {
        double acc = 0.0;
        for (int64_t i = 0; i < in; ++i) acc += double{x[r * in + i]} * w[o * in + i];
        worst = std::max(worst, std::fabs(static_cast<float>(acc) - y1[r * out + o]));
      }
    }
    EXPECT_LE(worst, 1e-4f) << rows << " rows";
  }
  std::vector<float> e1(x.begin(), x.begin() + 29), e2 = e1;
  const float s1 = ref.softmax_unnormalized(e1.data(), 29);
  const float s2 = fast->softmax_unnormalized(e2.data(), 29);
  EXPECT_NEAR(s1, s2, 1e-5f * s1);
  EXPECT_LE(max_abs_diff(e1, e2), 1e-6f);
  EXPECT_FLOAT_EQ(*std::max_element(e1.begin(), e1.end()), 1.0f);  // exp(max - max)
  std::vector<float> g1(29), g2(29);
  ref.silu_mul(x.data(), w.data(), 29, g1.data());
  fast->silu_mul(x.data(), w.data(), 29, g2.data());
  EXPECT_LE(max_abs_diff(g1, g2), 1e-6f);
  // Attention for 1 to 5 query heads of a group (a full group of 4 and every remainder), head
  // sizes with compile-time paths (8, 32, 64) and one without (12).
  for (int n_q : {1, 2, 3, 4, 5}) {
    for (int64_t hd : {8, 12, 32, 64}) {
      const int64_t n_blocks = 3, n_keys = 29, stride = n_blocks * cpu::kKeyBlock + 5;
      std::vector<float> p1(n_q * stride), p2(n_q * stride);
      ref.attention_scores(x.data(), n_q, hd, w.data(), n_blocks, 0.25f, p1.data(), stride);
      fast->attention_scores(x.data(), n_q, hd, w.data(), n_blocks, 0.25f, p2.data(), stride);
      for (int h = 0; h < n_q; ++h) {
        const std::span<const float> a(p1.data() + h * stride, n_blocks * cpu::kKeyBlock);
        const std::span<const float> b(p2.data() + h * stride, n_blocks * cpu::kKeyBlock);
        EXPECT_LE(max_abs_diff(a, b), 1e-5f) << n_q << " heads, head_dim " << hd;
      }
      // Score 17 against the blocked layout's definition: key 17 is block 1, lane 1.
      float dot = 0.0f;
      for (int64_t i = 0; i < hd; ++i) dot += x[i] * w[(hd + i) * cpu::kKeyBlock + 1];
      EXPECT_NEAR(p1[17], 0.25f * dot, 1e-5f);
      std::vector<float> o1(n_q * hd, 0.5f), o2(n_q * hd, 0.5f);
      ref.attention_mix(p1.data(), stride, n_q, w.data(), n_keys, hd, o1.data());
      fast->attention_mix(p1.data(), stride, n_q, w.data(), n_keys, hd, o2.data());
      EXPECT_LE(max_abs_diff(o1, o2), 1e-4f) << n_q << " heads, head_dim " << hd;
    }
  }
}

// to_bf16 rounds to nearest even and keeps NaN a NaN, bit for bit the same in its vector body
// and its tail: ties both ways, the largest float (to infinity), infinities, NaNs and denormals,
// at every length and alignment.
TEST(CpuBf16Kernels, RoundingIsBitExactForEveryLengthAndSpecialValue) {
  const auto reference = [](float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
    return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
  };
  const auto from_bits = [](uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  };
  std::vector<float> x;
  for (uint32_t bits : {0x3f808000u, 0x3f818000u, 0xbf808000u, 0x3f808001u, 0x7f7fffffu,
                        0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7f800001u, 0xffbfffffu,
                        0x00000001u, 0x807fffffu, 0x00000000u, 0x80000000u}) {
    x.push_back(from_bits(bits));
  }
  for (int i = 0; i < 50; ++i) x.push_back(1e3f * std::sin(0.37f * static_cast<float>(i)));
  for (size_t from = 0; from < 3; ++from) {
    for (size_t n = 1; from + n <= x.size(); ++n) {
      std::vector<uint16_t> out(n);
      cpu::to_bf16(x.data() + from, static_cast<int64_t>(n), out.data());
      for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(out[i], reference(x[from + i])) << "value " << from + i << " of a run of " << n;
      }
    }
  }
}

// kReduced's bfloat16 KV cache: on values that are already bfloat16 the 16-bit kernels compute
// what the float32 ones do (widening is exact; only the order of the sums differs).
TEST(CpuBf16Kernels, AttentionMatchesFloat32OnTheSameValues) {
  if (!cpu::bf16_supported()) GTEST_SKIP() << "this CPU has no AVX512-BF16";
  const cpu::Kernels& ref = cpu::portable_kernels();
  const int64_t n_blocks = 3, n_keys = 29, stride = n_blocks * cpu::kKeyBlock + 3;
  for (int n_q : {1, 3, 4, 5}) {
    for (int64_t hd : {12, 16, 32}) {
      std::vector<float> q(n_q * hd), kv(n_blocks * cpu::kKeyBlock * hd);
      for (size_t i = 0; i < q.size(); ++i) q[i] = std::sin(0.37f * static_cast<float>(i));
      for (size_t i = 0; i < kv.size(); ++i) kv[i] = std::cos(0.11f * static_cast<float>(i));
      std::vector<uint16_t> kv16(kv.size());
      cpu::to_bf16(kv.data(), static_cast<int64_t>(kv.size()), kv16.data());
      std::vector<float> rounded(kv.size());
      for (size_t i = 0; i < kv.size(); ++i) {
        const uint32_t bits = uint32_t{kv16[i]} << 16;
        std::memcpy(&rounded[i], &bits, sizeof bits);
      }
      EXPECT_LE(max_abs_diff(kv, rounded), 1e-2f);  // really rounded, to bfloat16's 8 bits
      std::vector<float> p1(n_q * stride), p2(n_q * stride);
      ref.attention_scores(q.data(), n_q, hd, rounded.data(), n_blocks, 0.5f, p1.data(), stride);
      cpu::attention_scores_bf16(q.data(), n_q, hd, kv16.data(), n_blocks, 0.5f, p2.data(), stride);
      for (int h = 0; h < n_q; ++h) {
        EXPECT_LE(max_abs_diff({p1.data() + h * stride, n_blocks * cpu::kKeyBlock},
                               {p2.data() + h * stride, n_blocks * cpu::kKeyBlock}),
                  1e-5f)
            << n_q << " heads, head_dim " << hd;
      }
      std::vector<float> o1(n_q * hd, 0.5f), o2(n_q * hd, 0.5f);
      ref.attention_mix(p1.data(), stride, n_q, rounded.data(), n_keys, hd, o1.data());
      cpu::attention_mix_bf16(p1.data(), stride, n_q, kv16.data(), n_keys, hd, o2.data());
      EXPECT_LE(max_abs_diff(o1, o2), 1e-4f) << n_q << " heads, head_dim " << hd;
    }
  }
}

// kReduced's products: bfloat16 panels (odd input count: a zero-padded pair; 37 outputs: a
// padded panel) against float32 sums of the same rounded values.
TEST(CpuBf16Kernels, PackedProductMatchesFloat32SumsOfTheSameValues) {
  if (!cpu::bf16_supported()) GTEST_SKIP() << "this CPU has no AVX512-BF16";
  const int64_t in = 397, out = 37, row16 = in + 1;
  auto widen = [](uint16_t h) {
    const uint32_t bits = uint32_t{h} << 16;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  };
  std::vector<float> x(7 * in), w(out * in);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i));
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::cos(0.11f * static_cast<float>(i));
  std::vector<uint16_t> w16(w.size()),
      packed(static_cast<size_t>(cpu::packed_bf16_elements(out, in)));
  cpu::to_bf16(w.data(), static_cast<int64_t>(w.size()), w16.data());
  cpu::pack_panels_bf16(w16.data(), out, in, packed.data());
  std::vector<uint16_t> x16(7 * row16, 0);
  for (int64_t r = 0; r < 7; ++r) cpu::to_bf16(x.data() + r * in, in, x16.data() + r * row16);
  for (int64_t rows : {1, 5, 7}) {
    std::vector<float> y(rows * out, -1.0f);
    cpu::matmul_packed_bf16(x16.data(), rows, in, packed.data(), out, 0, 3, out, y.data());
    float worst = 0.0f;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t o = 0; o < out; ++o) {
        double acc = 0.0;
        for (int64_t i = 0; i < in; ++i) {
          acc += double{widen(x16[r * row16 + i])} * widen(w16[o * in + i]);
        }
        worst = std::max(worst, std::fabs(static_cast<float>(acc) - y[r * out + o]));
      }
    }
    EXPECT_LE(worst, 1e-3f) << rows << " rows";
  }
}

INSTANTIATE_TEST_SUITE_P(FastSets, CpuKernels,
                         ::testing::Values(&cpu::avx2_kernels, &cpu::avx512_kernels));

}  // namespace
}  // namespace jamd::models
