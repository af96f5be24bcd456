// The model file reader refuses damaged or foreign files with a clear error and reads good ones.
#include "models/engine/weight_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace jamd::models {
namespace {

ModelConfig small_config() {
  ModelConfig c;
  c.n_vocab = 37;
  c.d_model = 16;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.d_ff = 24;
  c.attention_window = 32;
  return c;
}

TEST(WeightFile, RoundTripsConfigAndTensors) {
  auto bytes = random_weight_file(small_config(), 7, 1234);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  const std::vector<std::byte> copy = *bytes;
  auto file = WeightFile::from_bytes(std::move(*bytes));
  ASSERT_TRUE(file.ok()) << file.status();
  const WeightFile& w = **file;
  EXPECT_EQ(w.config().n_vocab, 37);
  EXPECT_EQ(w.config().kv_dim(), 8);
  EXPECT_EQ(w.vocab_hash(), 1234u);
  // The first tensor starts right after the header.
  float first;
  std::memcpy(&first, copy.data() + kWeightFileHeaderBytes, sizeof first);
  EXPECT_EQ(w.tok_embedding()[0], first);
  EXPECT_NE(w.layer(1).w_down, nullptr);
  EXPECT_NE(w.output(), w.tok_embedding());
}

TEST(WeightFile, FullBandTraitRoundTripsAndUnknownFlagsAreRefused) {
  ModelConfig c = small_config();
  c.full_band = true;
  auto bytes = random_weight_file(c, 7);
  ASSERT_TRUE(bytes.ok());
  std::vector<std::byte> other_flag = *bytes;
  auto file = WeightFile::from_bytes(std::move(*bytes));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE((*file)->config().full_band);
  other_flag[20] |= std::byte{2};  // flags (docs/model-format.md): bit 1 means nothing yet
  auto refused = WeightFile::from_bytes(std::move(other_flag));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("unknown flags"), std::string::npos);
}

TEST(WeightFile, RefusesWrongMagic) {
  auto bytes = random_weight_file(small_config(), 7);
  ASSERT_TRUE(bytes.ok());
  (*bytes)[0] = std::byte{'X'};
  auto file = WeightFile::from_bytes(std::move(*bytes));
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("wrong magic"), std::string::npos);
}

TEST(WeightFile, RefusesTruncatedFile) {
  auto bytes = random_weight_file(small_config(), 7);
  ASSERT_TRUE(bytes.ok());
  bytes->resize(bytes->size() - 100);
  auto file = WeightFile::from_bytes(std::move(*bytes));
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("truncated"), std::string::npos);
}

TEST(WeightFile, RefusesFlippedTensorByte) {
  auto bytes = random_weight_file(small_config(), 7);
  ASSERT_TRUE(bytes.ok());
  (*bytes)[bytes->size() / 2] ^= std::byte{0x40};
  auto file = WeightFile::from_bytes(std::move(*bytes));
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("checksum"), std::string::npos);
}

TEST(WeightFile, OpenReportsMissingFile) {
  auto file = WeightFile::open("/nonexistent/band.jamd");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(file.status().message().find("/nonexistent/band.jamd"), std::string::npos);
}

TEST(WeightFile, OpenMapsAWrittenFile) {
  auto bytes = random_weight_file(small_config(), 9);
  ASSERT_TRUE(bytes.ok());
  const std::string path = ::testing::TempDir() + "weight_file_test.jamd";
  ASSERT_TRUE(write_file_atomically(path, *bytes).ok());
  auto file = WeightFile::open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->config().d_ff, 24);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace jamd::models
