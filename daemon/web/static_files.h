// Static files of the built web client: which file a request target names (never one outside
// the root: no "..", no encoded separators, no symlink out), its MIME type, and the security
// headers every page carries (docs/web.md "Security").
//
//   auto root = jamd::web::canonical_root("build-h7/clients/web/dist");      // once, at start
//   std::optional<std::filesystem::path> file = jamd::web::resolve_static_path(*root, "/a.js");
//   std::string_view type = jamd::web::mime_type(*file);                       // "text/javascript"
//
// Thread safety: free functions; call from any thread.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"

namespace jamd::web {

// The page may load scripts, styles, worklets and connect only to its own origin (the
// WebSocket is same-origin, and 'self' covers ws: in CSP level 3); no inline script, no
// framing. Images may be data: URLs (the canvas snapshot).
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; worker-src 'self'; media-src 'self' blob:; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// The static root made absolute with symlinks resolved; NOT_FOUND when it is not a directory.
absl::StatusOr<std::filesystem::path> canonical_root(const std::filesystem::path& dir);

// The regular file that an HTTP request target ("/", "/assets/x.js?v=1") names under `root`
// (from canonical_root): "/" is index.html. nullopt for anything that is not plainly a file
// inside the root: "..", "." or empty segments, a backslash, a NUL, %2f or %5c, a target that
// is not origin-form, a path that resolves (through symlinks) outside the root, a directory.
std::optional<std::filesystem::path> resolve_static_path(const std::filesystem::path& root,
                                                         std::string_view target);

// The Content-Type for a file by its extension; application/octet-stream when unknown.
std::string_view mime_type(const std::filesystem::path& file);

}  // namespace jamd::web
