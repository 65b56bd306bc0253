// Unit tests of daemon/tls.h's pure parts: which hosts are loopback, what the start-up log says
// of a listener, and the check that binds a gateway's Hello to its client certificate (over a
// fake AuthContext holding the properties gRPC sets for a verified peer certificate).
#include "daemon/tls.h"

#include <grpc/grpc_security_constants.h>

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

namespace hotline::daemon {
namespace {

// An AuthContext with the given properties; nothing else of it is used by the check.
class FakeAuth final : public grpc::AuthContext {
 public:
  explicit FakeAuth(std::multimap<std::string, std::string> properties)
      : properties_(std::move(properties)) {}

  bool IsPeerAuthenticated() const override { return false; }
  std::vector<grpc::string_ref> GetPeerIdentity() const override { return {}; }
  std::string GetPeerIdentityPropertyName() const override { return ""; }
  std::vector<grpc::string_ref> FindPropertyValues(const std::string& name) const override {
    std::vector<grpc::string_ref> values;
    auto [from, to] = properties_.equal_range(name);
    for (auto it = from; it != to; ++it) {
      values.emplace_back(it->second);
    }
    return values;
  }
  grpc::AuthPropertyIterator begin() const override { return End(); }
  grpc::AuthPropertyIterator end() const override { return End(); }
  void AddProperty(const std::string&, const grpc::string_ref&) override {}
  bool SetPeerIdentityPropertyName(const std::string&) override { return false; }

 private:
  struct End : grpc::AuthPropertyIterator {};
  const std::multimap<std::string, std::string> properties_;
};

FakeAuth Certificate(const std::string& cn, const std::vector<std::string>& dns = {}) {
  std::multimap<std::string, std::string> properties = {
      {GRPC_X509_PEM_CERT_PROPERTY_NAME, "-----BEGIN CERTIFICATE-----"},
      {GRPC_X509_CN_PROPERTY_NAME, cn}};
  for (const std::string& name : dns) {
    properties.emplace(GRPC_PEER_DNS_PROPERTY_NAME, name);
    properties.emplace(GRPC_X509_SAN_PROPERTY_NAME, name);
  }
  return FakeAuth(properties);
}

// Client certificates required of every gateway.
TlsConfig Every() {
  TlsConfig tls;
  tls.require_client_certificate = true;
  return tls;
}

TEST_CASE("a gateway with a certificate says Hello only as its CN or a DNS name", "[tls]") {
  const FakeAuth a = Certificate("gw-a", {"gw-a.pbx.example"});
  CHECK(CheckGatewayCertificate(&a, "gw-a", Every()).ok());
  CHECK(CheckGatewayCertificate(&a, "gw-a.pbx.example", TlsConfig()).ok());
  const absl::Status other = CheckGatewayCertificate(&a, "gw-b", TlsConfig());
  CHECK(other.code() == absl::StatusCode::kPermissionDenied);
  CHECK_THAT(std::string(other.message()),
             Catch::StartsWith("hello.gateway_id: 'gw-b'") && Catch::Contains("gw-a, gw-a.pbx"));
  // Exact: neither case nor a prefix makes another gateway's name.
  CHECK_FALSE(CheckGatewayCertificate(&a, "GW-A", TlsConfig()).ok());
  CHECK_FALSE(CheckGatewayCertificate(&a, "gw", TlsConfig()).ok());
  // An IP or URI SAN names no gateway.
  const FakeAuth ip(
      std::multimap<std::string, std::string>{{GRPC_X509_PEM_CERT_PROPERTY_NAME, "pem"},
                                              {GRPC_X509_SAN_PROPERTY_NAME, "10.0.0.7"},
                                              {GRPC_PEER_IP_PROPERTY_NAME, "10.0.0.7"}});
  CHECK(CheckGatewayCertificate(&ip, "10.0.0.7", TlsConfig()).code() ==
        absl::StatusCode::kPermissionDenied);
}

TEST_CASE("a gateway without a certificate is refused only when certificates are required",
          "[tls]") {
  const FakeAuth none({});
  CHECK(CheckGatewayCertificate(&none, "gw-a", TlsConfig()).ok());
  CHECK(CheckGatewayCertificate(nullptr, "gw-a", TlsConfig()).ok());
  const absl::Status refused = CheckGatewayCertificate(&none, "gw-a", Every());
  CHECK(refused.code() == absl::StatusCode::kUnauthenticated);
  CHECK_THAT(std::string(refused.message()), Catch::Contains("tls.require_client_certificate"));
  CHECK(CheckGatewayCertificate(nullptr, "gw-a", Every()).code() ==
        absl::StatusCode::kUnauthenticated);
}

TEST_CASE("a gateway listed in require_client_certificate_for must present one and others need not",
          "[tls]") {
  TlsConfig tls;
  tls.require_client_certificate_for = {"gw-a", "gw-c"};
  const FakeAuth none({});
  const absl::Status refused = CheckGatewayCertificate(&none, "gw-a", tls);
  CHECK(refused.code() == absl::StatusCode::kUnauthenticated);
  CHECK_THAT(std::string(refused.message()),
             Catch::Contains("'gw-a'") && Catch::Contains("tls.require_client_certificate_for"));
  CHECK(CheckGatewayCertificate(nullptr, "gw-c", tls).code() ==
        absl::StatusCode::kUnauthenticated);
  // Not listed: its token alone admits it.
  CHECK(CheckGatewayCertificate(&none, "gw-b", tls).ok());
  // Listed and presenting its own certificate: admitted; another's: refused.
  const FakeAuth a = Certificate("gw-a");
  CHECK(CheckGatewayCertificate(&a, "gw-a", tls).ok());
  CHECK(CheckGatewayCertificate(&a, "gw-c", tls).code() == absl::StatusCode::kPermissionDenied);
}

TEST_CASE("a refusal quotes at most four of the certificate's names and 64 bytes of each",
          "[tls]") {
  std::vector<std::string> many;
  for (int i = 0; i < 50; ++i) {
    many.push_back(std::string(1000, static_cast<char>('a' + i % 26)));
  }
  const FakeAuth big = Certificate(std::string(1000, 'z'), many);
  const absl::Status refused = CheckGatewayCertificate(&big, "gw-a", TlsConfig());
  REQUIRE(refused.code() == absl::StatusCode::kPermissionDenied);
  CHECK(refused.message().size() < 500);
  CHECK_THAT(std::string(refused.message()), Catch::Contains(std::string(64, 'z') + ","));
  CHECK_THAT(std::string(refused.message()), !Catch::Contains(std::string(65, 'z')));
}

TEST_CASE("the start-up line says whether a listener is TLS or plaintext", "[tls]") {
  Config plain;
  CHECK(DescribeListener(plain, "gRPC", "127.0.0.1:50051") ==
        "gRPC on 127.0.0.1:50051: plaintext (loopback only)");
  CHECK_THAT(DescribeListener(plain, "HTTP", "0.0.0.0:8080"),
             Catch::StartsWith("HTTP on 0.0.0.0:8080: PLAINTEXT on a non-loopback address"));
  Config tls;
  tls.tls.cert_file = "s.crt";
  tls.tls.key_file = "s.key";
  tls.tls.client_ca_file = "ca.crt";
  tls.tls.require_client_certificate = true;
  CHECK(DescribeListener(tls, "gRPC", "0.0.0.0:50051") ==
        "gRPC on 0.0.0.0:50051: TLS (certificate 's.crt', client certificates verified against "
        "'ca.crt', required of gateways, files re-read every 60 s)");
  CHECK(DescribeListener(tls, "HTTP", "0.0.0.0:8080") ==
        "HTTP on 0.0.0.0:8080: TLS (certificate 's.crt', no client certificates, files re-read "
        "every 60 s)");
}

}  // namespace
}  // namespace hotline::daemon
