// TLS on both listeners and mutual TLS for gateways (docs/tls.md), against the real daemon with
// certificates the test makes with the openssl command (test_pki.h).
#include "daemon/tls.h"

#include <httplib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

#include "tests/testing/daemon_fixture.h"
#include "tests/testing/test_pki.h"

namespace hotline::testing {
namespace {

// A CA, the daemon's certificate (for 127.0.0.1 and localhost), and two gateways' client
// certificates: gw-a by its CN, gw-b by a DNS name.
struct Pki : TestPki {
  Pki() {
    MakeCa("ca");
    MakeCert("server", "ca", "hotlined", "IP:127.0.0.1,DNS:localhost");
    MakeCert("gw-a", "ca", "gw-a", "", /*client=*/true);
    MakeCert("gw-b", "ca", "gateway b", "DNS:gw-b", /*client=*/true);
  }

  void Serve(daemon::Config& config, bool client_ca = false, bool require = false) const {
    config.tls.cert_file = Crt("server");
    config.tls.key_file = Key("server");
    if (client_ca) {
      config.tls.client_ca_file = Crt("ca");
    }
    config.tls.require_client_certificate = require;
  }
};

// The fixture's channel and admin stub, over TLS trusting the test's CA.
void UseTls(DaemonFixture& f, const Pki& pki) {
  f.channel = pki.Channel(f.daemon->grpc_port(), "ca");
  f.admin = v1::AdminService::NewStub(f.channel);
}

grpc::Status ListCounsellors(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::ClientContext ctx;
  Authorize(ctx, kTestAdminToken);
  ctx.set_deadline(std::chrono::system_clock::now() + kPatience);
  v1::ListCounsellorsResponse response;
  return v1::AdminService::NewStub(channel)->ListCounsellors(&ctx, v1::ListCounsellorsRequest(),
                                                             &response);
}

// How a gateway's Hello on `channel` as `gateway_id` ends: the Welcome (OK) or the status the
// daemon closed the stream with.
grpc::Status Hello(const std::shared_ptr<grpc::Channel>& channel, const std::string& gateway_id) {
  GatewayConnection gw(channel, kTestGatewayToken, HelloFor(gateway_id));
  auto first = gw.WaitFor([](const v1::HotlineMessage&) { return true; }, kPatience);
  REQUIRE(first.has_value());
  if (first->has_welcome()) {
    return grpc::Status::OK;
  }
  REQUIRE(IsEndOfStream(*first));
  return gw.Finish();
}

TEST_CASE("a TLS-only daemon refuses a plaintext client and routes a call over TLS", "[tls]") {
  Pki pki;
  DaemonFixture f([&](daemon::Config& c) { pki.Serve(c); });

  // The fixture's own channel is plaintext: the handshake never happens.
  const grpc::Status plaintext = ListCounsellors(f.channel);
  CHECK(plaintext.error_code() == grpc::StatusCode::UNAVAILABLE);
  // A client trusting another CA refuses the daemon's certificate.
  TestPki other;
  other.MakeCa("other");
  CHECK(ListCounsellors(other.Channel(f.daemon->grpc_port(), "other")).error_code() ==
        grpc::StatusCode::UNAVAILABLE);

  UseTls(f, pki);
  REQUIRE(ListCounsellors(f.channel).ok());
  SignedIn lan(f, "lan", "38");
  GatewayClient gw(f.channel, kTestGatewayToken, "gw-1");
  gw.WaitForWelcome();
  gw.Arrive("tls-call-1", "38");
  CHECK(gw.WaitForAck().code() == 0);
  const v1::DeskEvent offer = lan.desk.WaitFor(IsOffer);
  CHECK(offer.offer().call().call_id() == "tls-call-1");
  REQUIRE(lan.desk.Answer("tls-call-1", true).ok());
  const v1::Command connect = gw.WaitForCommand(v1::Command::kConnect);
  CHECK(connect.call_id() == "tls-call-1");
  CHECK(connect.connect().counsellor_id() == "lan");
}

TEST_CASE("mutual TLS refuses a gateway without a client certificate or with another's", "[tls]") {
  Pki pki;
  DaemonFixture f([&](daemon::Config& c) { pki.Serve(c, /*client_ca=*/true, /*require=*/true); });
  UseTls(f, pki);
  const int port = f.daemon->grpc_port();

  // No certificate: refused at Hello, whatever the token.
  const grpc::Status none = Hello(pki.Channel(port, "ca"), "gw-a");
  CHECK(none.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK_THAT(none.error_message(), Catch::Contains("tls.require_client_certificate"));
  // gw-b's certificate saying Hello as gw-a.
  const grpc::Status other = Hello(pki.Channel(port, "ca", "gw-b"), "gw-a");
  CHECK(other.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK_THAT(other.error_message(), Catch::Contains("'gw-a'") && Catch::Contains("gw-b"));
  // Each by its own certificate: gw-a by its CN, gw-b by its DNS name (its CN is another).
  CHECK(Hello(pki.Channel(port, "ca", "gw-a"), "gw-a").ok());
  CHECK(Hello(pki.Channel(port, "ca", "gw-b"), "gw-b").ok());
  CHECK(Hello(pki.Channel(port, "ca", "gw-b"), "gateway b").error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);  // Not an id at all (a space).
  // A certificate from a CA the daemon does not trust fails the handshake.
  TestPki rogue;
  rogue.MakeCa("rogue");
  rogue.MakeCert("gw-a", "rogue", "gw-a", "", /*client=*/true);
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = TestPki::Read(pki.Crt("ca"));
  options.pem_cert_chain = TestPki::Read(rogue.Crt("gw-a"));
  options.pem_private_key = TestPki::Read(rogue.Key("gw-a"));
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  const auto rogue_channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                                       grpc::SslCredentials(options), args);
  CHECK(ListCounsellors(rogue_channel).error_code() == grpc::StatusCode::UNAVAILABLE);
  // Desks and the administrator need no certificate: they present tokens.
  SignedIn lan(f, "lan", "38");
  CHECK(ListCounsellors(f.channel).ok());
}

TEST_CASE("a gateway named in require_client_certificate_for is refused without its certificate",
          "[tls]") {
  Pki pki;
  DaemonFixture f([&](daemon::Config& c) {
    pki.Serve(c, /*client_ca=*/true, /*require=*/false);
    c.tls.require_client_certificate_for = {"gw-a"};
  });
  const int port = f.daemon->grpc_port();
  // gw-a's token alone is not enough: its certificate must come with it.
  const grpc::Status none = Hello(pki.Channel(port, "ca"), "gw-a");
  CHECK(none.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK_THAT(none.error_message(), Catch::Contains("tls.require_client_certificate_for"));
  CHECK(Hello(pki.Channel(port, "ca", "gw-b"), "gw-a").error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  CHECK(Hello(pki.Channel(port, "ca", "gw-a"), "gw-a").ok());
  // A gateway not listed still says Hello on its token alone.
  CHECK(Hello(pki.Channel(port, "ca"), "gw-c").ok());
}

TEST_CASE(
    "with client certificates optional a gateway without one says Hello but one with a "
    "certificate only as itself",
    "[tls]") {
  Pki pki;
  DaemonFixture f([&](daemon::Config& c) { pki.Serve(c, /*client_ca=*/true, /*require=*/false); });
  const int port = f.daemon->grpc_port();
  CHECK(Hello(pki.Channel(port, "ca"), "gw-a").ok());
  CHECK(Hello(pki.Channel(port, "ca", "gw-b"), "gw-a").error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  CHECK(Hello(pki.Channel(port, "ca", "gw-a"), "gw-a").ok());
}

TEST_CASE("HTTP serves /healthz over TLS and nothing in plaintext", "[tls]") {
  Pki pki;
  DaemonFixture f([&](daemon::Config& c) { pki.Serve(c); });
  httplib::SSLClient https("127.0.0.1", f.daemon->http_port());
  https.set_ca_cert_path(pki.Crt("ca").c_str());
  https.enable_server_certificate_verification(true);
  const httplib::Result healthz = https.Get("/healthz");
  REQUIRE(healthz);
  CHECK(healthz->status == 200);
  CHECK(healthz->body == "ok\n");

  httplib::Client plaintext("127.0.0.1", f.daemon->http_port());
  plaintext.set_read_timeout(5, 0);
  const httplib::Result refused = plaintext.Get("/healthz");
  CHECK((!refused || refused->status != 200));
}

TEST_CASE("a plaintext listener off loopback is refused at start", "[tls]") {
  TempDir dir;
  for (const auto& [grpc_listen, http_listen, key] :
       {std::tuple{"0.0.0.0:0", "127.0.0.1:0", "server.grpc_listen"},
        std::tuple{"127.0.0.1:0", "[::]:0", "server.http_listen"},
        std::tuple{"10.1.2.3:0", "127.0.0.1:0", "server.grpc_listen"}}) {
    daemon::Config config = TestConfig(dir);
    config.grpc_listen = grpc_listen;
    config.http_listen = http_listen;
    auto started = daemon::Daemon::Start(config);
    INFO(grpc_listen << " " << http_listen);
    REQUIRE(started.status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK_THAT(std::string(started.status().message()),
               Catch::Contains(key) && Catch::Contains("allow_plaintext_public"));
    // Refused before anything was opened.
    CHECK_FALSE(std::filesystem::exists(config.database));
  }
  // Allowed with TLS or when told explicitly (checked without binding: tests stay on loopback).
  daemon::Config config = TestConfig(dir);
  config.grpc_listen = "0.0.0.0:50051";
  CHECK_FALSE(daemon::CheckPlaintextListeners(config).ok());
  config.tls.allow_plaintext_public = true;
  CHECK(daemon::CheckPlaintextListeners(config).ok());
  config.tls.allow_plaintext_public = false;
  config.tls.cert_file = "server.crt";
  config.tls.key_file = "server.key";
  CHECK(daemon::CheckPlaintextListeners(config).ok());
  for (const char* host : {"127.0.0.1", "127.9.9.9", "localhost", "::1", "[::1]"}) {
    CHECK(daemon::IsLoopbackHost(host));
  }
  for (const char* host : {"", "0.0.0.0", "[::]", "::", "128.0.0.1", "example.org", "[::2]"}) {
    CHECK_FALSE(daemon::IsLoopbackHost(host));
  }
}

TEST_CASE("a bad certificate file stops the start naming the file", "[tls]") {
  Pki pki;
  pki.MakeCert("other", "ca", "other", "DNS:localhost");
  TempDir dir;
  daemon::Config config = TestConfig(dir);
  pki.Serve(config);
  config.tls.key_file = pki.Key("other");  // Not the certificate's key.
  auto mismatched = daemon::Daemon::Start(config);
  CHECK(mismatched.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(mismatched.status().message()),
             Catch::Contains("tls.key_file") && Catch::Contains("is not the key"));
  config.tls.key_file = pki.Key("server");
  config.tls.cert_file = pki.Path("missing.crt");
  auto missing = daemon::Daemon::Start(config);
  CHECK_THAT(std::string(missing.status().message()),
             Catch::Contains("tls.cert_file") && Catch::Contains("missing.crt"));
  config.tls.cert_file = pki.Crt("server");
  config.tls.client_ca_file = pki.Key("server");  // A key, not a certificate.
  auto not_ca = daemon::Daemon::Start(config);
  CHECK_THAT(std::string(not_ca.status().message()), Catch::Contains("tls.client_ca_file"));
}

// Polls (up to kPatience, a new connection each time) until `connects` is true.
bool Eventually(const std::function<bool()>& connects) {
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (std::chrono::steady_clock::now() < deadline) {
    if (connects()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

TEST_CASE("a replaced certificate is served on gRPC and HTTP without a restart", "[tls]") {
  Pki pki;
  pki.MakeCa("ca2");
  pki.MakeCert("server2", "ca2", "hotlined", "IP:127.0.0.1,DNS:localhost");
  // The files the daemon reads, replaced below as an operator does: new files renamed over.
  const std::string cert = pki.Path("live.crt");
  const std::string key = pki.Path("live.key");
  std::filesystem::copy_file(pki.Crt("server"), cert);
  std::filesystem::copy_file(pki.Key("server"), key);
  DaemonFixture f([&](daemon::Config& c) {
    c.tls.cert_file = cert;
    c.tls.key_file = key;
    c.tls.reload_interval_s = 1;
  });
  const int grpc_port = f.daemon->grpc_port();
  auto https = [&](const std::string& ca) {
    httplib::SSLClient client("127.0.0.1", f.daemon->http_port());
    client.set_ca_cert_path(ca.c_str());
    client.enable_server_certificate_verification(true);
    const httplib::Result r = client.Get("/healthz");
    return r && r->status == 200;
  };
  REQUIRE(ListCounsellors(pki.Channel(grpc_port, "ca")).ok());
  REQUIRE(https(pki.Crt("ca")));
  // Trusting only the next CA fails while the first certificate is served.
  CHECK_FALSE(ListCounsellors(pki.Channel(grpc_port, "ca2")).ok());
  CHECK_FALSE(https(pki.Crt("ca2")));

  std::filesystem::copy_file(pki.Key("server2"), key + ".new");
  std::filesystem::copy_file(pki.Crt("server2"), cert + ".new");
  std::filesystem::rename(key + ".new", key);
  std::filesystem::rename(cert + ".new", cert);

  CHECK(Eventually([&] { return ListCounsellors(pki.Channel(grpc_port, "ca2")).ok(); }));
  CHECK(Eventually([&] { return https(pki.Crt("ca2")); }));
  // And the first CA's clients no longer connect: the old certificate is gone.
  CHECK_FALSE(ListCounsellors(pki.Channel(grpc_port, "ca")).ok());
  CHECK_FALSE(https(pki.Crt("ca")));
}

}  // namespace
}  // namespace hotline::testing
