// The web server's static file resolution (no way out of the root) and same-origin rule, on a
// real directory tree with a symlink that points outside it.
#include "daemon/web/static_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "daemon/web/http_session.h"

namespace jamd::web {
namespace {

namespace fs = std::filesystem;

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::path(::testing::TempDir()) /
            ("jamd_static_" +
             std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(base_);
    fs::create_directories(base_ / "root" / "assets");
    write(base_ / "root" / "index.html", "<!doctype html>");
    write(base_ / "root" / "assets" / "app.js", "1");
    write(base_ / "secret.txt", "token");
    fs::create_symlink(base_ / "secret.txt", base_ / "root" / "escape.txt");
    root_ = *canonical_root(base_ / "root");
  }
  void TearDown() override { fs::remove_all(base_); }
  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

  fs::path base_;
  fs::path root_;
};

TEST_F(StaticFilesTest, ServesIndexAndAssetsInsideTheRoot) {
  EXPECT_EQ(resolve_static_path(root_, "/"), root_ / "index.html");
  EXPECT_EQ(resolve_static_path(root_, "/assets/app.js?v=2"), root_ / "assets" / "app.js");
  EXPECT_EQ(resolve_static_path(root_, "/assets/%61pp.js"), root_ / "assets" / "app.js");
}

TEST_F(StaticFilesTest, RefusesEveryWayOutOfTheRoot) {
  for (const char* target :
       {"/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2fsecret.txt",
        "/..%2fsecret.txt", "/assets%2f..%2f..%2fsecret.txt", "/..\\secret.txt",
        "/%5c..%5csecret.txt", "/escape.txt", "//etc/passwd", "/./index.html", "/assets/",
        "/assets", "/%00index.html", "/%zz", "http://example.com/index.html", "index.html", ""}) {
    EXPECT_EQ(resolve_static_path(root_, target), std::nullopt) << target;
  }
}

TEST_F(StaticFilesTest, NamesTheMimeTypesThePageNeeds) {
  EXPECT_EQ(mime_type("a/index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(mime_type("x.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(mime_type("x.css"), "text/css; charset=utf-8");
  EXPECT_EQ(mime_type("x.wasm"), "application/wasm");
  EXPECT_EQ(mime_type("x.unknown"), "application/octet-stream");
}

TEST(SameOriginTest, AcceptsOnlyThePagesOwnOrigin) {
  EXPECT_TRUE(same_origin("http://127.0.0.1:8080", "127.0.0.1:8080"));
  EXPECT_TRUE(same_origin("https://jam.example:443", "jam.example:443"));
  EXPECT_FALSE(same_origin("http://evil.example", "127.0.0.1:8080"));
  EXPECT_FALSE(same_origin("http://127.0.0.1:8081", "127.0.0.1:8080"));
  EXPECT_FALSE(same_origin("", "127.0.0.1:8080"));
  EXPECT_FALSE(same_origin("null", "127.0.0.1:8080"));
}

}  // namespace
}  // namespace jamd::web
