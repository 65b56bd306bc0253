// Transport security of hotlined's two listeners (docs/tls.md): whether a listener may be
// plaintext, the gRPC server's TLS credentials, the HTTP server's certificate (re-read while the
// daemon runs) and the check that binds a gateway's Hello to its client certificate.
//
// Thread-safety: the free functions are thread-safe. HttpCertificate is used from any of
// cpp-httplib's threads (its handshakes); it guards its state with a mutex.
#pragma once

#include <grpcpp/security/auth_context.h>
#include <grpcpp/security/server_credentials.h>
#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "daemon/config.h"

namespace hotline::daemon {

// Whether `host`, the host part of a listen address, is this machine's loopback only:
// "localhost", an address in 127.0.0.0/8, "::1" or "[::1]". An empty host, "0.0.0.0", "[::]"
// and any other name or address are not.
bool IsLoopbackHost(std::string_view host);

// OK when TLS is configured, when every listener (gRPC and HTTP) is on loopback, or when
// tls.allow_plaintext_public says plaintext may face the network. FAILED_PRECONDITION otherwise,
// naming the listener and the two ways out. REQUIRES: the listen addresses parse (ParseHostPort).
absl::Status CheckPlaintextListeners(const Config& config);

// What a listener at `listen` (gRPC or HTTP, `what`) speaks, for the start-up log: "TLS (...)"
// or "plaintext (...)".
std::string DescribeListener(const Config& config, std::string_view what, std::string_view listen);

// The gRPC server's credentials. Without TLS: insecure. With TLS: gRPC's TlsServerCredentials
// over a FileWatcherCertificateProvider, which re-reads the key, certificate and client CA files
// every tls.reload_interval_s seconds, so a replaced certificate is served without a restart (new
// connections only; open ones keep theirs). With a client CA, a client may present a
// certificate, which must verify against it or the handshake fails. The files are loaded once
// here first, because the watcher only logs what it cannot read: INVALID_ARGUMENT naming the file
// that is missing, not PEM, or a key that does not match its certificate.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> GrpcServerCredentials(
    const TlsConfig& tls);

// A certificate chain and its private key, parsed and checked to match.
struct KeyPair;

// The HTTP server's certificate. Installed into cpp-httplib's SSL_CTX, it answers each handshake
// with the current key pair; at most once per tls.reload_interval_s a handshake first re-reads
// the files, and a changed pair that parses and matches replaces the current one (logged). One
// that does not is logged once and the current pair stays: a half-written update is never served.
class HttpCertificate {
 public:
  // Loads tls.cert_file and tls.key_file. INVALID_ARGUMENT naming the file, as
  // GrpcServerCredentials.
  static absl::StatusOr<std::unique_ptr<HttpCertificate>> Load(const TlsConfig& tls);

  HttpCertificate(const TlsConfig& tls, std::shared_ptr<const KeyPair> pair);
  HttpCertificate(const HttpCertificate&) = delete;
  HttpCertificate& operator=(const HttpCertificate&) = delete;
  ~HttpCertificate();

  // Sets `ctx` up to serve: TLS 1.2 at least, the current pair, and the per-handshake callback.
  // Returns false when OpenSSL refuses the pair. REQUIRES: this outlives `ctx`.
  bool Install(SSL_CTX& ctx);

 private:
  static int OnHandshake(SSL* ssl, void* self);
  // The pair to serve now, re-read from the files when the interval has passed.
  std::shared_ptr<const KeyPair> Current();

  const TlsConfig tls_;
  std::mutex mu_;
  std::shared_ptr<const KeyPair> current_;            // Guarded by mu_.
  std::chrono::steady_clock::time_point next_check_;  // Guarded by mu_.
  std::string refused_;  // The files' text last refused, logged once. Guarded by mu_.
};

// Whether the gateway on `auth`'s connection may say Hello as `gateway_id`. A connection with a
// verified client certificate may be only the gateway it names: its subject common name (CN) or
// one of its DNS subject alternative names, compared exactly; other SAN kinds (IP, URI, e-mail)
// name no gateway. Errors: UNAUTHENTICATED when `tls` requires a certificate of this gateway
// (require_client_certificate, or the id in require_client_certificate_for) and the connection
// has none; PERMISSION_DENIED when the certificate names other gateways (listed, up to
// a few). A connection without a certificate (or without an auth context: null) passes when it
// is not required.
// REQUIRES: gateway_id passed ValidateId.
absl::Status CheckGatewayCertificate(const grpc::AuthContext* auth, const std::string& gateway_id,
                                     const TlsConfig& tls);

}  // namespace hotline::daemon
