// Certificates made for one test by the `openssl` command (Debian's openssl package, installed by
// deploy/setup) in a temporary directory, removed with it: no key is ever committed. EC P-256
// keys, valid for two days.
//
// Thread-safety: none; one test's thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/testing/daemon_fixture.h"

namespace hotline::testing {

class TestPki {
 public:
  // A CA `name`: `name`.crt and `name`.key.
  void MakeCa(const std::string& name) {
    Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " +
        Key(name) + " -out " + Crt(name) + " -days 2 -subj '/CN=" + name + "'");
  }

  // A certificate `name` (`name`.crt, `name`.key) signed by the CA `ca`, with subject CN `cn`, the
  // subject alternative names `san` ("IP:127.0.0.1,DNS:localhost"; empty for none), for a server
  // or, when `client`, for a client.
  void MakeCert(const std::string& name, const std::string& ca, const std::string& cn,
                const std::string& san, bool client = false) {
    const std::string ext = Path(name + ".ext");
    {
      std::ofstream out(ext);
      out << "basicConstraints=CA:FALSE\n"
          << "keyUsage=digitalSignature,keyEncipherment\n"
          << "extendedKeyUsage=" << (client ? "clientAuth" : "serverAuth") << "\n";
      if (!san.empty()) {
        out << "subjectAltName=" << san << "\n";
      }
    }
    Run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " +
        Key(name) + " -out " + Path(name + ".csr") + " -subj '/CN=" + cn + "'");
    Run("openssl x509 -req -in " + Path(name + ".csr") + " -CA " + Crt(ca) + " -CAkey " + Key(ca) +
        " -CAcreateserial -CAserial " + Path(ca + ".srl") + " -out " + Crt(name) +
        " -days 2 -extfile " + ext);
    std::filesystem::permissions(
        Key(name), std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }

  std::string Path(const std::string& file) const { return (dir_.path() / file).string(); }
  std::string Crt(const std::string& name) const { return Path(name + ".crt"); }
  std::string Key(const std::string& name) const { return Path(name + ".key"); }

  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    REQUIRE(in);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // TLS channel credentials trusting the CA `ca`, presenting the client certificate `client`
  // when it is not empty.
  std::shared_ptr<grpc::ChannelCredentials> Credentials(const std::string& ca,
                                                        const std::string& client = "") const {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = Read(Crt(ca));
    if (!client.empty()) {
      options.pem_cert_chain = Read(Crt(client));
      options.pem_private_key = Read(Key(client));
    }
    return grpc::SslCredentials(options);
  }

  // A fresh channel (its own connection) to 127.0.0.1:`port` over TLS, as Credentials.
  std::shared_ptr<grpc::Channel> Channel(int port, const std::string& ca,
                                         const std::string& client = "") const {
    grpc::ChannelArguments args;
    // A channel of its own: gRPC would otherwise share one connection between equal channels.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), Credentials(ca, client),
                                     args);
  }

 private:
  void Run(const std::string& command) {
    const std::string full = command + " > " + Path("openssl.log") + " 2>&1";
    const int status = std::system(full.c_str());
    INFO(command);
    INFO(std::ifstream(Path("openssl.log")).rdbuf());
    REQUIRE(status == 0);
  }

  TempDir dir_;
};

}  // namespace hotline::testing
