#include "daemon/web.h"

#include <httplib.h>

#include <string>
#include <string_view>

#include "daemon/web_assets.h"

namespace hotline::daemon {
namespace {

// `default-src 'self'` is the policy the page is written for: its scripts and styles are files,
// its data comes from this origin. The rest closes what default-src leaves open: framing (click
// jacking), <base> rewriting, and a form posted anywhere (the sign-in form is handled by script
// and must never submit the token in a URL).
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

// cpp-httplib matches a route as a regular expression over the whole path: escape the dots.
std::string RoutePattern(std::string_view path) {
  std::string pattern;
  for (const char c : path) {
    if (std::string_view(".+*?^$()[]{}|\\").find(c) != std::string_view::npos) {
      pattern.push_back('\\');
    }
    pattern.push_back(c);
  }
  return pattern;
}

}  // namespace

void ServeWebAssets(httplib::Server& server) {
  for (const std::string_view path : WebAssetPaths()) {
    const Asset asset = *FindWebAsset(path);
    server.Get(RoutePattern(path), [asset](const httplib::Request&, httplib::Response& res) {
      res.set_header("Cache-Control", "no-store");
      res.set_header("Content-Security-Policy", std::string(kContentSecurityPolicy));
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Referrer-Policy", "no-referrer");
      res.set_content(asset.body.data(), asset.body.size(), std::string(asset.content_type));
      res.status = 200;
    });
  }
}

}  // namespace hotline::daemon
