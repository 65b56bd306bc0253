#include "daemon/web_assets.h"

#include <string_view>

namespace hotline::daemon {
namespace {

constexpr std::string_view kIndexPath = "/index.html";

// By extension; the page's files are all UTF-8. With `X-Content-Type-Options: nosniff` a module
// script must come with a JavaScript type or the browser refuses it.
std::string_view ContentTypeFor(std::string_view path) {
  if (path.ends_with(".html")) {
    return "text/html; charset=utf-8";
  }
  if (path.ends_with(".js")) {
    return "text/javascript; charset=utf-8";
  }
  if (path.ends_with(".css")) {
    return "text/css; charset=utf-8";
  }
  if (path.ends_with(".svg")) {
    return "image/svg+xml";
  }
  return "application/octet-stream";
}

}  // namespace

std::optional<Asset> FindWebAsset(std::string_view path) {
  const std::string_view wanted = path == "/" ? kIndexPath : path;
  for (const web_internal::EmbeddedFile& file : web_internal::EmbeddedFiles()) {
    if (file.path == wanted) {
      return Asset{ContentTypeFor(file.path), file.bytes};
    }
  }
  return std::nullopt;
}

std::vector<std::string_view> WebAssetPaths() {
  std::vector<std::string_view> paths;
  paths.emplace_back("/");
  for (const web_internal::EmbeddedFile& file : web_internal::EmbeddedFiles()) {
    paths.push_back(file.path);
  }
  return paths;
}

}  // namespace hotline::daemon
