// What every Hotline client shares about talking to hotlined: the channel, the bearer token each
// call carries, fresh request ids, and how a failed call is shown to a person.
//
// Thread-safety: a Server is immutable once built and may be used from any thread (gRPC channels
// are thread-safe). The free functions are thread-safe.
#pragma once

#include <absl/status/statusor.h>
#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace hotline::clients {

// Where hotlined's gRPC port listens unless --server says otherwise.
inline constexpr char kDefaultServer[] = "127.0.0.1:50051";

// How long a unary call may take before the client gives up. Generous: the daemon answers in
// milliseconds, so hitting this means something is wrong, not slow.
inline constexpr std::chrono::milliseconds kUnaryTimeout{10'000};

// How a client reaches a daemon that serves TLS (docs/tls.md). TLS is on when ca_file or
// cert_file is set.
struct TlsFiles {
  // PEM CAs trusted to sign hotlined's certificate; empty with TLS on: the system's CAs.
  std::string ca_file;
  // A gateway's client certificate (PEM chain) and private key, for mutual TLS; both or neither.
  std::string cert_file;
  std::string key_file;
  // The name checked against hotlined's certificate instead of the --server host (e.g. when
  // connecting by an address the certificate does not list). Empty: the host.
  std::string server_name;

  bool enabled() const { return !ca_file.empty() || !cert_file.empty(); }
};

// The credentials for `tls`: insecure when TLS is off, else TLS with the files' contents.
// INVALID_ARGUMENT naming the flag (--tls-ca, --tls-cert, --tls-key) when a file cannot be read
// or is empty, or when only one of the certificate and key is given.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentialsFor(
    const TlsFiles& tls);

// Sets the TLS files every Server made afterwards in this process uses (AddServerFlags calls it
// after parsing; a program or test that builds Servers without flags may call it). Errors as
// ChannelCredentialsFor; then nothing changes.
absl::Status SetClientTls(const TlsFiles& tls);

// The pause between a client's reconnect attempts, in place of a plain sleep: once the channel
// is seen not connected (at the start or during the pause), waits until it is connected again
// (asking it to connect meanwhile) or `delay` has passed; while it stays connected (the call
// failed for another reason: a refused token, a limit, a stream the daemon closed), waits the
// whole `delay`, so retries stay that far apart.
// True when connected at the end. Why: a channel that lost its daemon answers each call at once
// with its last error ("Connection refused") until it has connected again, and a client that
// only slept and retried found a restarted daemon up to 12 s late. `stopped`, when given, is
// asked every 100 ms; once it says true the wait ends (false).
bool AwaitConnection(grpc::Channel& channel, std::chrono::milliseconds delay,
                     const std::function<bool()>& stopped = nullptr);

// "<field>: is not valid UTF-8 at byte N" for the first string field of `message` (in field
// order, nested messages and repeated fields included: "counsellor.display_name",
// "provinces[2]") whose value is not UTF-8; empty when every string is.
std::string FirstTextNotUtf8(const google::protobuf::Message& message);

// A connection to hotlined and the bearer token presented on every call.
class Server {
 public:
  // `address` is host:port. `token` may be empty for calls that need none (health, reflection).
  // The channel is plaintext, or TLS as SetClientTls last said (the --tls-* flags).
  Server(const std::string& address, std::string token);
  // The same over a channel built with `arguments`, e.g. a shorter reconnect backoff.
  Server(const std::string& address, std::string token, const grpc::ChannelArguments& arguments);

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

  // Prepares `context` for one call: adds `authorization: Bearer <token>` when a token is set,
  // and a deadline `timeout` from now when `timeout` is positive (streams pass zero: they live
  // as long as the program).
  void Prepare(grpc::ClientContext& context,
               std::chrono::milliseconds timeout = std::chrono::milliseconds::zero()) const;

  // One blocking unary call with the token and a kUnaryTimeout deadline: `method` is a method of
  // a generated service's Stub, e.g. Call(&v1::AdminService::Stub::ReloadPolicy, request,
  // &response). Returns the call's status; `response` is filled when it is OK.
  //
  // A request holding text that is not UTF-8 (a command-line argument or a line read in another
  // encoding) is not sent: the call returns INVALID_ARGUMENT naming the field, the words the
  // daemon would answer with (an older daemon answered INTERNAL, "Unable to parse request").
  template <typename Stub, typename Request, typename Response>
  grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                    const Request& request, Response* response) const {
    if (std::string bad = FirstTextNotUtf8(request); !bad.empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, bad);
    }
    grpc::ClientContext context;
    Prepare(context, kUnaryTimeout);
    Stub stub(channel_);
    return (stub.*method)(&context, request, response);
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::string authorization_;  // "Bearer <token>", or empty for no token.
};

// Arguments for the channel of a client that stays connected (a desk, a gateway, a watch):
// gRPC tries a lost connection again `first` after losing it, then at most `longest` apart. Its
// default backoff grows to 2 minutes, so a daemon restarted after a long outage would be found
// up to 2 minutes late, whatever the client's own retries.
grpc::ChannelArguments ReconnectingChannelArguments(std::chrono::milliseconds first,
                                                    std::chrono::milliseconds longest);

// Adds --server (default kDefaultServer; a host without a port means port 50051), --token-file
// and --token, which fall back to the environment variable `token_env`, and the TLS flags
// --tls-ca, --tls-cert, --tls-key and --tls-server-name (environment HOTLINE_TLS_CA,
// HOTLINE_TLS_CERT, HOTLINE_TLS_KEY, HOTLINE_TLS_SERVER_NAME), applied with SetClientTls after
// parsing (an unreadable file is a usage error). A file or the
// environment is the better place: command lines show in `ps`. `role` names the token in
// errors ("counsellor's desk", "gateway", "administrator", "supervisor"). After parsing, the
// token is read from the file when one was given (an unreadable or empty file is a usage error),
// and the address and role are remembered for ErrorLine's hints.
void AddServerFlags(CLI::App& app, std::string& server, std::string& token,
                    const std::string& token_env, bool token_required,
                    const std::string& role = "");

// A check for a count or a duration on the command line: a whole number of at least `least`.
// Its refusal reads as a sentence ("--calls: must be a whole number, 0 or more, not '-3'"),
// unlike CLI11's own range checks.
CLI::Validator WholeNumber(long long least = 0);

// "host" -> "host:50051", "::1" -> "[::1]:50051"; "host:port", "[v6]:port" and "unix:..." are
// kept as they are.
std::string WithDefaultPort(std::string address);
// Why `address` (after WithDefaultPort) names no port a client can connect to: "port '99999' is
// not a number from 0 to 65535"; empty when it does, or when it is a target in gRPC's own
// syntax (unix:, unix-abstract:, dns:, ipv4:, ipv6:, vsock:, xds:), which gRPC reads itself. gRPC
// would take 99999 modulo 65536 and try another port.
std::string ServerPortProblem(const std::string& address);

// The token in `path`, without surrounding white space. INVALID_ARGUMENT naming the file when it
// cannot be read or holds no token.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// The google.rpc.Code name for `code` ("INVALID_ARGUMENT"), or the number when it is unknown.
std::string CodeName(int code);

// "error: <CODE>: <message>", the one way the clients show a failed call ("error: <CODE>" when
// the server gave no message), followed by what to do where the code says: UNAVAILABLE names
// the address tried and ./deploy/run; UNAUTHENTICATED and PERMISSION_DENIED name the role whose
// token is wanted and where it comes from; DEADLINE_EXCEEDED says the daemon did not answer.
std::string ErrorLine(const grpc::Status& status);

// A fresh 128-bit random id in hex, for request_id fields. Random rather than pid+counter: the
// daemon answers a repeated id with the original result, so an id reused by a restarted client
// would silently do nothing.
std::string NewRequestId();

}  // namespace hotline::clients
