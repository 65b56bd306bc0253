// The live view's files: embedded as they are in web/, and served with their types and the
// headers the page relies on (no-store, a Content-Security-Policy without inline code, nosniff).
#include "daemon/web.h"

#include <httplib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "daemon/web_assets.h"

namespace hotline::daemon {
namespace {

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

const std::filesystem::path kWebDir = std::filesystem::path(HOTLINE_SOURCE_DIR) / "web";

TEST_CASE("every file of web/ is embedded byte for byte", "[daemon][web]") {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kWebDir)) {
    const std::string path = "/" + entry.path().filename().string();
    INFO(path);
    const auto asset = FindWebAsset(path);
    REQUIRE(asset.has_value());
    CHECK(asset->body == ReadFile(entry.path()));
    ++files;
  }
  CHECK(files >= 4);
  CHECK(WebAssetPaths().size() == static_cast<size_t>(files) + 1);
}

TEST_CASE("/ is the page and each file has its content type", "[daemon][web]") {
  const auto index = FindWebAsset("/");
  REQUIRE(index.has_value());
  CHECK(index->body == ReadFile(kWebDir / "index.html"));
  CHECK(index->content_type == "text/html; charset=utf-8");
  CHECK(FindWebAsset("/app.js")->content_type == "text/javascript; charset=utf-8");
  CHECK(FindWebAsset("/style.css")->content_type == "text/css; charset=utf-8");
  CHECK_FALSE(FindWebAsset("/missing.js").has_value());
  CHECK_FALSE(FindWebAsset("app.js").has_value());
  CHECK_FALSE(FindWebAsset("/../daemon/web.cc").has_value());
  CHECK_FALSE(FindWebAsset("").has_value());
}

TEST_CASE("the HTTP side serves the page with no-store, its CSP and nosniff", "[daemon][web]") {
  httplib::Server server;
  ServeWebAssets(server);
  const int port = server.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  std::thread listener([&server] { server.listen_after_bind(); });
  while (!server.is_running()) {
    std::this_thread::yield();
  }
  httplib::Client client("127.0.0.1", port);

  const auto page = client.Get("/");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->get_header_value("Content-Type") == "text/html; charset=utf-8");
  CHECK(page->get_header_value("Cache-Control") == "no-store");
  CHECK(page->get_header_value("X-Content-Type-Options") == "nosniff");
  const std::string csp = page->get_header_value("Content-Security-Policy");
  CHECK(csp.starts_with("default-src 'self'"));
  CHECK(csp.find("unsafe-inline") == std::string::npos);
  CHECK(page->body == ReadFile(kWebDir / "index.html"));

  const auto script = client.Get("/app.js");
  REQUIRE(script);
  CHECK(script->status == 200);
  CHECK(script->get_header_value("Content-Type") == "text/javascript; charset=utf-8");
  CHECK(script->get_header_value("Cache-Control") == "no-store");

  // A route is a regular expression in cpp-httplib: the dot in "/app.js" matches only a dot.
  const auto lookalike = client.Get("/appxjs");
  REQUIRE(lookalike);
  CHECK(lookalike->status == 404);

  server.stop();
  listener.join();
}

}  // namespace
}  // namespace hotline::daemon
