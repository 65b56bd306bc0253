// What every client shares (clients/common/client.h): the address a person types, the token
// file, the count checks and the words an error is shown in.
#include "clients/common/client.h"

#include <catch2/catch.hpp>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace hotline::clients {
namespace {

TEST_CASE("a host without a port means port 50051, anything else is kept", "[clients]") {
  CHECK(WithDefaultPort("10.0.0.5") == "10.0.0.5:50051");
  CHECK(WithDefaultPort("hotline.example") == "hotline.example:50051");
  CHECK(WithDefaultPort("10.0.0.5:6000") == "10.0.0.5:6000");
  CHECK(WithDefaultPort("[::1]:6000") == "[::1]:6000");
  CHECK(WithDefaultPort("[::1]") == "[::1]:50051");
  CHECK(WithDefaultPort("::1") == "[::1]:50051");
  CHECK(WithDefaultPort("unix:/run/hotline.sock") == "unix:/run/hotline.sock");
}

TEST_CASE("a token file gives its token without white space, or an error naming the file",
          "[clients]") {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("hotline-token-" + std::to_string(getpid())))
          .string();
  std::ofstream(path) << "  s3cret-token \n";
  CHECK(*ReadTokenFile(path) == "s3cret-token");
  std::ofstream(path) << " \n";
  const auto empty = ReadTokenFile(path);
  REQUIRE_FALSE(empty.ok());
  CHECK(std::string(empty.status().message()) == "--token-file: '" + path + "' holds no token");
  std::remove(path.c_str());
  const auto missing = ReadTokenFile(path);
  REQUIRE_FALSE(missing.ok());
  CHECK(std::string(missing.status().message()) == "--token-file: cannot read '" + path + "'");
}

TEST_CASE("a count is refused in a sentence", "[clients]") {
  CLI::Validator check = WholeNumber(0);
  std::string ok = "12";
  CHECK(check(ok).empty());
  std::string negative = "-3";
  CHECK(check(negative) == "must be a whole number, 0 or more, not '-3'");
  std::string word = "abc";
  CHECK(check(word) == "must be a whole number, 0 or more, not 'abc'");
  std::string fraction = "1.5";
  CHECK_FALSE(check(fraction).empty());
  std::string low = "0";
  CHECK(WholeNumber(1)(low) == "must be a whole number, 1 or more, not '0'");
}

TEST_CASE("an error says what to do: the address when the daemon is down, the role's token",
          "[clients]") {
  CLI::App app;
  std::string server;
  std::string token;
  AddServerFlags(app, server, token, "HOTLINE_DESK_TOKEN", false, "counsellor's desk");
  app.parse("--server 10.0.0.5", /*program_name_included=*/false);
  CHECK(server == "10.0.0.5:50051");
  const std::string down = ErrorLine(grpc::Status(grpc::StatusCode::UNAVAILABLE, "failed"));
  CHECK_THAT(down, Catch::StartsWith("error: UNAVAILABLE: failed\n"));
  CHECK_THAT(down, Catch::Contains("not answering at 10.0.0.5:50051"));
  CHECK_THAT(down, Catch::Contains("./deploy/run"));
  const std::string refused =
      ErrorLine(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unknown token"));
  CHECK_THAT(refused, Catch::Contains("needs the counsellor's desk token"));
  CHECK_THAT(refused, Catch::Contains("HOTLINE_DESK_TOKEN"));
  CHECK(ErrorLine(grpc::Status(grpc::StatusCode::NOT_FOUND, "no such call")) ==
        "error: NOT_FOUND: no such call");
}

TEST_CASE("the TLS flags refuse a file that cannot be used before any call is made", "[clients]") {
  const std::string missing = "/nonexistent/hotline-ca.crt";
  {
    CLI::App app;
    std::string server;
    std::string token;
    AddServerFlags(app, server, token, "HOTLINE_GATEWAY_TOKEN", false, "gateway");
    CHECK_THROWS_WITH(app.parse("--tls-ca " + missing, false),
                      Catch::Contains("--tls-ca: cannot read '" + missing + "'"));
  }
  const std::string not_pem =
      (std::filesystem::temp_directory_path() / ("hotline-not-pem-" + std::to_string(getpid())))
          .string();
  std::ofstream(not_pem) << "not a certificate\n";
  TlsFiles ca_only;
  ca_only.ca_file = not_pem;
  TlsFiles cert_only;
  cert_only.cert_file = not_pem;
  CHECK(ChannelCredentialsFor(ca_only).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(ChannelCredentialsFor(ca_only).status().message()),
             Catch::Contains("holds nothing in PEM"));
  CHECK_THAT(std::string(ChannelCredentialsFor(cert_only).status().message()),
             Catch::Contains("--tls-cert and --tls-key go together"));
  std::remove(not_pem.c_str());
  // No TLS flag: plaintext, as before.
  REQUIRE(ChannelCredentialsFor(TlsFiles()).ok());
  CHECK_FALSE(TlsFiles{}.enabled());
  CHECK(SetClientTls(TlsFiles()).ok());
}

}  // namespace
}  // namespace hotline::clients
