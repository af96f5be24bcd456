// TLS: with certificate files configured, the server speaks only TLS; a client that trusts the
// self-made certificate works, a plaintext client is refused.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/daemon/api/api_test_util.h"

namespace jamd::api::testing {
namespace {

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v openssl > /dev/null 2>&1") != 0) {
      GTEST_SKIP() << "openssl is not installed (scripts/setup.sh installs it)";
    }
    dir_ = std::filesystem::temp_directory_path() /
           ("jamd_tls_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            std::to_string(reinterpret_cast<uintptr_t>(this)));
    std::filesystem::create_directories(dir_);
    const std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
        " -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
        (dir_ / "key.pem").string() + " -out " + (dir_ / "cert.pem").string() + " > /dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
};

TEST_F(Tls, TrustingClientWorksAndPlaintextClientIsRefused) {
  ServerOptions options;
  options.tls_cert_file = (dir_ / "cert.pem").string();
  options.tls_key_file = (dir_ / "key.pem").string();
  Loopback server(test_limits(), options);
  ASSERT_TRUE(server.server().tls());

  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = read_all(dir_ / "cert.pem");
  auto secure =
      jam::v1::Jam::NewStub(grpc::CreateChannel(server.address(), grpc::SslCredentials(ssl)));
  grpc::ClientContext ok_ctx;
  jam::v1::CreateJamResponse created;
  grpc::Status st = secure->CreateJam(&ok_ctx, jam::v1::CreateJamRequest{}, &created);
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_FALSE(created.host_token().empty());

  auto plain = server.stub();
  grpc::ClientContext bad_ctx;
  bad_ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  jam::v1::CreateJamResponse refused;
  EXPECT_EQ(plain->CreateJam(&bad_ctx, jam::v1::CreateJamRequest{}, &refused).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST(TlsConfig, HalfConfiguredTlsIsRefusedAtStart) {
  SessionRegistry jams;
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.tls_cert_file = "/nonexistent/cert.pem";
  EXPECT_EQ(ApiServer::start(options, &jams).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace jamd::api::testing
