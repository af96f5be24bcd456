// Static file resolution for the web client: percent-decoding, segment checks, and a final
// canonical-path containment check so that neither encodings nor symlinks leave the root.
#include "daemon/web/static_files.h"

#include <array>
#include <string>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace jamd::web {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes a path; nullopt on a malformed escape or an encoded '/', '\' or NUL (an
// encoded separator would hide a segment from the checks below).
std::optional<std::string> percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    const int hi = hex_value(in[i + 1]);
    const int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    const char c = static_cast<char>(hi * 16 + lo);
    if (c == '/' || c == '\\' || c == '\0') return std::nullopt;
    out.push_back(c);
    i += 2;
  }
  return out;
}

bool is_inside(const std::filesystem::path& root, const std::filesystem::path& p) {
  auto r = root.begin();
  auto q = p.begin();
  for (; r != root.end(); ++r, ++q) {
    if (q == p.end() || *r != *q) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::filesystem::path> canonical_root(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::path root = std::filesystem::canonical(dir, ec);
  if (ec || !std::filesystem::is_directory(root, ec)) {
    return absl::NotFoundError(absl::StrCat(
        "web client directory '", dir.string(),
        "' is not a directory: build the client (cmake --build BUILD --target jamd_web) or pass "
        "--web-root"));
  }
  return root;
}

std::optional<std::filesystem::path> resolve_static_path(const std::filesystem::path& root,
                                                         std::string_view target) {
  if (target.empty() || target.front() != '/') return std::nullopt;
  target = target.substr(0, target.find_first_of("?#"));
  std::optional<std::string> decoded = percent_decode(target);
  if (!decoded) return std::nullopt;
  std::string path = *decoded == "/" ? std::string("/index.html") : std::move(*decoded);
  if (path.find('\\') != std::string::npos || path.find('\0') != std::string::npos) {
    return std::nullopt;
  }
  std::filesystem::path relative;
  for (size_t begin = 1; begin <= path.size();) {
    size_t end = path.find('/', begin);
    if (end == std::string::npos) end = path.size();
    const std::string_view segment = std::string_view(path).substr(begin, end - begin);
    if (segment.empty() || segment == "." || segment == "..") return std::nullopt;
    relative /= std::string(segment);
    begin = end + 1;
  }
  std::error_code ec;
  std::filesystem::path file = std::filesystem::canonical(root / relative, ec);
  if (ec || !is_inside(root, file) || !std::filesystem::is_regular_file(file, ec)) {
    return std::nullopt;
  }
  return file;
}

std::string_view mime_type(const std::filesystem::path& file) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> kTypes = {{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".wasm", "application/wasm"},
      {".txt", "text/plain; charset=utf-8"},
      {".woff2", "font/woff2"},
      {".webmanifest", "application/manifest+json"},
      {".opus", "audio/ogg"},
  }};
  const std::string ext = file.extension().string();
  for (const auto& [suffix, type] : kTypes) {
    if (ext == suffix) return type;
  }
  return "application/octet-stream";
}

}  // namespace jamd::web
