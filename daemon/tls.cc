#include "daemon/tls.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/str_join.h"

namespace hotline::daemon {

struct KeyPair {
  struct FreeX509 {
    void operator()(X509* x) const { X509_free(x); }
  };
  struct FreeKey {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  };
  struct FreeChain {
    void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
  };
  std::string cert_pem;  // The files' text, to see a change.
  std::string key_pem;
  std::unique_ptr<X509, FreeX509> leaf;
  std::unique_ptr<STACK_OF(X509), FreeChain> chain;  // The certificates after the leaf.
  std::unique_ptr<EVP_PKEY, FreeKey> key;
};

namespace {

struct FreeBio {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, FreeBio>;

Bio MemoryBio(const std::string& text) {
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// OpenSSL's reason for the last failure, or empty; clears its error queue either way.
std::string OpenSslError() {
  const unsigned long code = ERR_peek_last_error();
  std::string reason;
  if (code != 0) {
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    reason = text;
  }
  ERR_clear_error();
  return reason;
}

absl::StatusOr<std::string> ReadFile(const std::string& path, std::string_view key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(fmt::format("{}: cannot read '{}'", key, path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The certificates in `text` (PEM), in order; INVALID_ARGUMENT naming `key` when there is none.
absl::StatusOr<std::vector<X509*>> ParseCertificates(const std::string& text, std::string_view key,
                                                     const std::string& path) {
  Bio bio = MemoryBio(text);
  std::vector<X509*> certificates;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certificates.push_back(x);
  }
  ERR_clear_error();  // The end of the file reads as an error.
  if (certificates.empty()) {
    return absl::InvalidArgumentError(fmt::format("{}: '{}' holds no PEM certificate", key, path));
  }
  return certificates;
}

absl::StatusOr<std::shared_ptr<const KeyPair>> ParseKeyPair(const TlsConfig& tls,
                                                            std::string cert_pem,
                                                            std::string key_pem) {
  auto pair = std::make_shared<KeyPair>();
  auto certificates = ParseCertificates(cert_pem, "tls.cert_file", tls.cert_file);
  if (!certificates.ok()) {
    return certificates.status();
  }
  pair->leaf.reset((*certificates)[0]);
  pair->chain.reset(sk_X509_new_null());
  for (size_t i = 1; i < certificates->size(); ++i) {
    sk_X509_push(pair->chain.get(), (*certificates)[i]);
  }
  Bio bio = MemoryBio(key_pem);
  pair->key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (pair->key == nullptr) {
    return absl::InvalidArgumentError(fmt::format(
        "tls.key_file: '{}' holds no PEM private key (an encrypted key is not supported) {}",
        tls.key_file, OpenSslError()));
  }
  if (X509_check_private_key(pair->leaf.get(), pair->key.get()) != 1) {
    OpenSslError();
    return absl::InvalidArgumentError(
        fmt::format("tls.key_file: '{}' is not the key of the certificate in '{}'", tls.key_file,
                    tls.cert_file));
  }
  pair->cert_pem = std::move(cert_pem);
  pair->key_pem = std::move(key_pem);
  return std::shared_ptr<const KeyPair>(std::move(pair));
}

absl::StatusOr<std::shared_ptr<const KeyPair>> ReadKeyPair(const TlsConfig& tls) {
  auto cert = ReadFile(tls.cert_file, "tls.cert_file");
  if (!cert.ok()) {
    return cert.status();
  }
  auto key = ReadFile(tls.key_file, "tls.key_file");
  if (!key.ok()) {
    return key.status();
  }
  return ParseKeyPair(tls, *std::move(cert), *std::move(key));
}

// A private key others can read is a key others may have copied.
void WarnIfKeyReadable(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    spdlog::warn("tls.key_file '{}' is readable by others (mode {:o}): make it 0600", path,
                 st.st_mode & 0777);
  }
}

}  // namespace

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") {
    return true;
  }
  in_addr v4{};
  const std::string text(host);
  return inet_pton(AF_INET, text.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

absl::Status CheckPlaintextListeners(const Config& config) {
  if (config.tls.enabled() || config.tls.allow_plaintext_public) {
    return absl::OkStatus();
  }
  for (const auto& [listen, key] : {std::pair{&config.grpc_listen, "server.grpc_listen"},
                                    std::pair{&config.http_listen, "server.http_listen"}}) {
    auto parsed = ParseHostPort(*listen, key);
    if (parsed.ok() && !IsLoopbackHost(parsed->host)) {
      return absl::FailedPreconditionError(fmt::format(
          "{} '{}' is not a loopback address and TLS is off: bearer tokens and children's data "
          "would cross the network in clear text. Configure TLS ([tls] cert_file and key_file, "
          "docs/tls.md), listen on 127.0.0.1, or set [tls] allow_plaintext_public = true if "
          "the network is protected some other way",
          key, *listen));
    }
  }
  return absl::OkStatus();
}

std::string DescribeListener(const Config& config, std::string_view what, std::string_view listen) {
  const TlsConfig& tls = config.tls;
  if (tls.enabled()) {
    std::string clients = "no client certificates";
    if (!tls.client_ca_file.empty()) {
      clients =
          fmt::format("client certificates verified against '{}', {} of gateways",
                      tls.client_ca_file, tls.require_client_certificate ? "required" : "optional");
    }
    if (what == "HTTP") {
      clients = "no client certificates";
    }
    return fmt::format("{} on {}: TLS (certificate '{}', {}, files re-read every {} s)", what,
                       listen, tls.cert_file, clients, tls.reload_interval_s);
  }
  auto parsed = ParseHostPort(std::string(listen), what);
  if (parsed.ok() && IsLoopbackHost(parsed->host)) {
    return fmt::format("{} on {}: plaintext (loopback only)", what, listen);
  }
  return fmt::format(
      "{} on {}: PLAINTEXT on a non-loopback address (tls.allow_plaintext_public): tokens and "
      "children's data cross the network in clear text",
      what, listen);
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> GrpcServerCredentials(
    const TlsConfig& tls) {
  if (!tls.enabled()) {
    return grpc::InsecureServerCredentials();
  }
  if (auto pair = ReadKeyPair(tls); !pair.ok()) {
    return pair.status();
  }
  WarnIfKeyReadable(tls.key_file);
  if (!tls.client_ca_file.empty()) {
    auto ca = ReadFile(tls.client_ca_file, "tls.client_ca_file");
    if (!ca.ok()) {
      return ca.status();
    }
    auto certificates = ParseCertificates(*ca, "tls.client_ca_file", tls.client_ca_file);
    if (!certificates.ok()) {
      return certificates.status();
    }
    for (X509* x : *certificates) {
      X509_free(x);
    }
  }
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      tls.key_file, tls.cert_file, tls.client_ca_file,
      static_cast<unsigned int>(tls.reload_interval_s));
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!tls.client_ca_file.empty()) {
    options.watch_root_certs();
    // Requested, not required, at the handshake: desks and hotlinectl present tokens only. A
    // certificate that is presented must verify; whether a gateway needs one is decided at its
    // Hello (CheckGatewayCertificate), where its gateway id is known.
    options.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

absl::StatusOr<std::unique_ptr<HttpCertificate>> HttpCertificate::Load(const TlsConfig& tls) {
  auto pair = ReadKeyPair(tls);
  if (!pair.ok()) {
    return pair.status();
  }
  return std::make_unique<HttpCertificate>(tls, *std::move(pair));
}

HttpCertificate::HttpCertificate(const TlsConfig& tls, std::shared_ptr<const KeyPair> pair)
    : tls_(tls),
      current_(std::move(pair)),
      next_check_(std::chrono::steady_clock::now() + std::chrono::seconds(tls.reload_interval_s)) {}

HttpCertificate::~HttpCertificate() = default;

bool HttpCertificate::Install(SSL_CTX& ctx) {
  const std::shared_ptr<const KeyPair> pair = Current();
  SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_cert_and_key(&ctx, pair->leaf.get(), pair->key.get(), pair->chain.get(), 1) !=
      1) {
    spdlog::error("HTTP TLS: OpenSSL refused the certificate: {}", OpenSslError());
    return false;
  }
  SSL_CTX_set_cert_cb(&ctx, &HttpCertificate::OnHandshake, this);
  return true;
}

int HttpCertificate::OnHandshake(SSL* ssl, void* self) {
  // Per connection, so a reload never changes the SSL_CTX other handshakes are reading.
  const std::shared_ptr<const KeyPair> pair = static_cast<HttpCertificate*>(self)->Current();
  return SSL_use_cert_and_key(ssl, pair->leaf.get(), pair->key.get(), pair->chain.get(), 1) == 1
             ? 1
             : 0;
}

std::shared_ptr<const KeyPair> HttpCertificate::Current() {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (now < next_check_) {
    return current_;
  }
  next_check_ = now + std::chrono::seconds(tls_.reload_interval_s);
  auto cert = ReadFile(tls_.cert_file, "tls.cert_file");
  auto key = ReadFile(tls_.key_file, "tls.key_file");
  if (cert.ok() && key.ok() && *cert == current_->cert_pem && *key == current_->key_pem) {
    return current_;
  }
  absl::StatusOr<std::shared_ptr<const KeyPair>> pair = !cert.ok() ? cert.status()
                                                        : !key.ok()
                                                            ? key.status()
                                                            : ParseKeyPair(tls_, *cert, *key);
  if (pair.ok()) {
    current_ = *std::move(pair);
    refused_.clear();
    spdlog::info("HTTP TLS: reloaded the certificate from '{}'", tls_.cert_file);
  } else {
    const std::string seen = cert.value_or("") + key.value_or("");
    if (seen != refused_) {
      refused_ = seen;
      spdlog::warn(
          "HTTP TLS: the changed certificate files are not used, the previous ones "
          "stay: {}",
          std::string(pair.status().message()));
    }
  }
  return current_;
}

absl::Status CheckGatewayCertificate(const grpc::AuthContext* auth, const std::string& gateway_id,
                                     const TlsConfig& tls) {
  if (auth == nullptr || auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME).empty()) {
    if (tls.require_client_certificate) {
      return absl::UnauthenticatedError(
          "hello: this daemon requires every gateway to present a client certificate naming "
          "its gateway id (tls.require_client_certificate), and this connection has none");
    }
    if (absl::c_linear_search(tls.require_client_certificate_for, gateway_id)) {
      return absl::UnauthenticatedError(fmt::format(
          "hello: gateway '{}' must present a client certificate naming it "
          "(tls.require_client_certificate_for), and this connection has none",
          gateway_id));
    }
    return absl::OkStatus();
  }
  std::vector<std::string> names;
  for (const char* property : {GRPC_X509_CN_PROPERTY_NAME, GRPC_PEER_DNS_PROPERTY_NAME}) {
    for (const grpc::string_ref& name : auth->FindPropertyValues(property)) {
      if (std::string_view(name.data(), name.size()) == gateway_id) {
        return absl::OkStatus();
      }
      if (names.size() < 4) {
        // Names a CA we trust signed; still quoted bounded.
        names.emplace_back(name.data(), std::min<size_t>(name.size(), 64));
      }
    }
  }
  return absl::PermissionDeniedError(fmt::format(
      "hello.gateway_id: '{}' is not named by this connection's client certificate (its CN and "
      "DNS names: {}); a gateway's certificate may say Hello only as its own gateway",
      gateway_id, names.empty() ? std::string("none") : absl::StrJoin(names, ", ")));
}

}  // namespace hotline::daemon
