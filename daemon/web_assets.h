// The live view's files (web/ at the top of the tree), embedded in hotlined at build time by
// daemon/web_assets.cmake, and what each is served as.
//
// Thread-safety: immutable data; call from any thread.
#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace hotline::daemon {

// One file as served.
struct Asset {
  // The Content-Type header, e.g. "text/javascript; charset=utf-8".
  std::string_view content_type;
  // The file's bytes, as in web/ when hotlined was built; valid for the life of the process.
  std::string_view body;
};

// The file served at the URL path `path`: "/" and "/index.html" are web/index.html, "/app.js" is
// web/app.js. nullopt for any other path (subdirectories of web/ are not embedded).
std::optional<Asset> FindWebAsset(std::string_view path);

// Every path FindWebAsset answers, "/" first.
std::vector<std::string_view> WebAssetPaths();

namespace web_internal {

// One file of web/, as the build embedded it.
struct EmbeddedFile {
  // Its URL path: "/" and its name in web/, e.g. "/app.js".
  std::string_view path;
  std::string_view bytes;
};

// Defined in the generated web_assets_data.cc, sorted by path.
std::span<const EmbeddedFile> EmbeddedFiles();

}  // namespace web_internal
}  // namespace hotline::daemon
