#include "clients/common/client.h"

#include <absl/status/status.h>
#include <absl/strings/ascii.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace hotline::clients {
namespace {

// What ErrorLine needs to say what to do: set once, after the command line is parsed.
struct Hints {
  std::mutex mu;
  std::string address = kDefaultServer;
  std::string role;       // "counsellor's desk", ...
  std::string token_env;  // HOTLINE_DESK_TOKEN, ...
};

Hints& TheHints() {
  static Hints* hints = new Hints;  // Never destroyed: read from any thread until exit.
  return *hints;
}

// What SetClientTls last set: the credentials every Server uses, and the name override.
struct ClientTls {
  std::mutex mu;
  std::shared_ptr<grpc::ChannelCredentials> credentials;  // Null: insecure.
  std::string server_name;
};

ClientTls& TheTls() {
  static ClientTls* tls = new ClientTls;  // Never destroyed, as the hints.
  return *tls;
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           grpc::ChannelArguments arguments) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  {
    ClientTls& tls = TheTls();
    std::lock_guard lock(tls.mu);
    credentials = tls.credentials;
    if (!tls.server_name.empty()) {
      arguments.SetSslTargetNameOverride(tls.server_name);
    }
  }
  if (credentials == nullptr) {
    credentials = grpc::InsecureChannelCredentials();
  }
  // A connection whose network went silent (a laptop asleep, Wi-Fi lost) is found by an
  // unanswered ping and dropped, so a desk or a watch reconnects instead of waiting forever on a
  // stream nothing will reach. hotlined accepts pings this often ([limits] keepalive_ms is its
  // own).
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20'000);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  arguments.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  return grpc::CreateCustomChannel(WithDefaultPort(address), credentials, arguments);
}

absl::StatusOr<std::string> ReadPem(const std::string& path, const char* flag) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::InvalidArgumentError(fmt::format("{}: cannot read '{}'", flag, path));
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (text.str().find("-----BEGIN") == std::string::npos) {
    return absl::InvalidArgumentError(fmt::format("{}: '{}' holds nothing in PEM", flag, path));
  }
  return text.str();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentialsFor(
    const TlsFiles& tls) {
  if (!tls.enabled()) {
    return grpc::InsecureChannelCredentials();
  }
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key go together: a client certificate needs its key");
  }
  grpc::SslCredentialsOptions options;
  for (const auto& [path, flag, out] :
       {std::tuple{&tls.ca_file, "--tls-ca", &options.pem_root_certs},
        std::tuple{&tls.cert_file, "--tls-cert", &options.pem_cert_chain},
        std::tuple{&tls.key_file, "--tls-key", &options.pem_private_key}}) {
    if (path->empty()) {
      continue;
    }
    absl::StatusOr<std::string> pem = ReadPem(*path, flag);
    if (!pem.ok()) {
      return pem.status();
    }
    *out = *std::move(pem);
  }
  return grpc::SslCredentials(options);
}

absl::Status SetClientTls(const TlsFiles& tls) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      ChannelCredentialsFor(tls);
  if (!credentials.ok()) {
    return credentials.status();
  }
  ClientTls& state = TheTls();
  std::lock_guard lock(state.mu);
  state.credentials = tls.enabled() ? *std::move(credentials) : nullptr;
  state.server_name = tls.server_name;
  return absl::OkStatus();
}

Server::Server(const std::string& address, std::string token)
    : Server(address, std::move(token), grpc::ChannelArguments()) {}

Server::Server(const std::string& address, std::string token,
               const grpc::ChannelArguments& arguments)
    : channel_(MakeChannel(address, arguments)),
      authorization_(token.empty() ? std::string() : "Bearer " + std::move(token)) {}

grpc::ChannelArguments ReconnectingChannelArguments(std::chrono::milliseconds first,
                                                    std::chrono::milliseconds longest) {
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, static_cast<int>(first.count()));
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(longest.count()));
  return arguments;
}

bool AwaitConnection(grpc::Channel& channel, std::chrono::milliseconds delay,
                     const std::function<bool()>& stopped) {
  using Steady = std::chrono::steady_clock;
  constexpr std::chrono::milliseconds kSlice{100};
  const Steady::time_point deadline = Steady::now() + delay;
  // While the channel stays connected the call failed for another reason (a refused token, a
  // limit, a stream the daemon closed), and only the whole pause keeps the retries apart. Once it
  // is seen down (a daemon going away sends GOAWAY, which may land after its stream's last
  // status), the pause ends as soon as it is connected again.
  bool seen_down = channel.GetState(/*try_to_connect=*/false) != GRPC_CHANNEL_READY;
  while (true) {
    if (stopped && stopped()) {
      return false;
    }
    const Steady::time_point now = Steady::now();
    if (now >= deadline) {
      return channel.GetState(/*try_to_connect=*/true) == GRPC_CHANNEL_READY;
    }
    const auto until =
        std::chrono::system_clock::now() + std::min<Steady::duration>(deadline - now, kSlice);
    if (!seen_down) {
      // True when the state left READY before `until`.
      seen_down = channel.WaitForStateChange(GRPC_CHANNEL_READY, until) ||
                  channel.GetState(/*try_to_connect=*/false) != GRPC_CHANNEL_READY;
      continue;
    }
    // WaitForConnected asks the channel to connect whenever it is idle, then waits for a change.
    if (channel.WaitForConnected(until)) {
      return true;
    }
  }
}

namespace {

// The offset of the first byte of `text` that does not begin a well-formed UTF-8 sequence
// (overlong forms, surrogates and code points past U+10FFFF included), or npos.
size_t FirstBadUtf8Byte(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    size_t length = 0;
    uint32_t code = 0;
    if (byte < 0x80) {
      ++i;
      continue;
    }
    if (byte >= 0xc2 && byte <= 0xdf) {
      length = 2;
      code = byte & 0x1fU;
    } else if (byte >= 0xe0 && byte <= 0xef) {
      length = 3;
      code = byte & 0x0fU;
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      length = 4;
      code = byte & 0x07U;
    } else {
      return i;
    }
    if (i + length > text.size()) {
      return i;
    }
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0U) != 0x80U) {
        return i;
      }
      code = (code << 6U) | (next & 0x3fU);
    }
    const uint32_t least = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
    if (code < least || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      return i;
    }
    i += length;
  }
  return std::string_view::npos;
}

std::string FirstTextNotUtf8(const google::protobuf::Message& message, const std::string& prefix) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection& reflection = *message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection.ListFields(message, &fields);  // Set fields only, in field-number order.
  for (const FieldDescriptor* field : fields) {
    const std::string name = prefix + field->name();
    const int count = field->is_repeated() ? reflection.FieldSize(message, field) : 1;
    for (int k = 0; k < count; ++k) {
      const std::string path = field->is_repeated() ? fmt::format("{}[{}]", name, k) : name;
      if (field->type() == FieldDescriptor::TYPE_STRING) {
        std::string scratch;
        const std::string& text =
            field->is_repeated()
                ? reflection.GetRepeatedStringReference(message, field, k, &scratch)
                : reflection.GetStringReference(message, field, &scratch);
        if (const size_t at = FirstBadUtf8Byte(text); at != std::string_view::npos) {
          return fmt::format("{}: is not valid UTF-8 at byte {}", path, at);
        }
      } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        const google::protobuf::Message& inner =
            field->is_repeated() ? reflection.GetRepeatedMessage(message, field, k)
                                 : reflection.GetMessage(message, field);
        if (std::string bad = FirstTextNotUtf8(inner, path + "."); !bad.empty()) {
          return bad;
        }
      }
    }
  }
  return std::string();
}

}  // namespace

std::string FirstTextNotUtf8(const google::protobuf::Message& message) {
  return FirstTextNotUtf8(message, "");
}

void Server::Prepare(grpc::ClientContext& context, std::chrono::milliseconds timeout) const {
  if (!authorization_.empty()) {
    context.AddMetadata("authorization", authorization_);
  }
  if (timeout > std::chrono::milliseconds::zero()) {
    context.set_deadline(std::chrono::system_clock::now() + timeout);
  }
}

CLI::Validator WholeNumber(long long least) {
  return CLI::Validator(
      [least](std::string& text) -> std::string {
        long long value = 0;
        const char* end = text.data() + text.size();
        auto [stop, error] = std::from_chars(text.data(), end, value);
        if (error != std::errc() || stop != end || value < least) {
          return fmt::format("must be a whole number, {} or more, not '{}'", least, text);
        }
        return std::string();
      },
      fmt::format("WHOLE NUMBER >= {}", least));
}

std::string WithDefaultPort(std::string address) {
  if (address.starts_with("unix:") || address.starts_with("dns:") ||
      address.starts_with("ipv4:") || address.starts_with("ipv6:")) {
    return address;
  }
  const size_t colons = std::count(address.begin(), address.end(), ':');
  if (address.starts_with('[')) {  // "[v6]" or "[v6]:port".
    return address.find("]:") == std::string::npos ? address + ":50051" : address;
  }
  if (colons > 1) {  // A bare IPv6 address ("::1") has colons but no port.
    return "[" + address + "]:50051";
  }
  return colons == 1 ? address : address + ":50051";
}

std::string ServerPortProblem(const std::string& address) {
  for (const char* scheme :
       {"unix:", "unix-abstract:", "dns:", "ipv4:", "ipv6:", "vsock:", "xds:"}) {
    if (address.starts_with(scheme)) {
      return "";  // gRPC's own target syntax.
    }
  }
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return "";
  }
  const std::string port = address.substr(colon + 1);
  int value = -1;
  const char* end = port.data() + port.size();
  const auto [stop, error] = std::from_chars(port.data(), end, value);
  if (port.empty() || error != std::errc() || stop != end || value < 0 || value > 65535) {
    return fmt::format("port '{}' is not a number from 0 to 65535", port);
  }
  return "";
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    return absl::InvalidArgumentError(fmt::format("--token-file: cannot read '{}'", path));
  }
  std::ostringstream text;
  text << file.rdbuf();
  std::string token(absl::StripAsciiWhitespace(text.str()));
  if (token.empty()) {
    return absl::InvalidArgumentError(fmt::format("--token-file: '{}' holds no token", path));
  }
  return token;
}

void AddServerFlags(CLI::App& app, std::string& server, std::string& token,
                    const std::string& token_env, bool token_required, const std::string& role) {
  server = kDefaultServer;
  {
    Hints& hints = TheHints();
    std::lock_guard lock(hints.mu);
    hints.role = role;
    hints.token_env = token_env;
  }
  app.add_option("--server", server,
                 "hotlined's gRPC address, host:port (a host alone means port 50051)")
      ->capture_default_str();
  auto file = std::make_shared<std::string>();
  CLI::Option* file_option = app.add_option(
      "--token-file", *file, "File holding the bearer token (or set " + token_env + ")");
  app.add_option("--token", token, "Bearer token; better --token-file or " + token_env +
                                           ": a command line shows in ps")
      ->envname(token_env)
      ->excludes(file_option);
  if (token_required) {
    // Required in effect: checked after parsing, since the file may supply it.
    app.final_callback([&token, file, token_env] {
      if (token.empty() && file->empty()) {
        throw CLI::ValidationError("no token: set " + token_env + " or pass --token-file FILE");
      }
    });
  }
  auto tls = std::make_shared<TlsFiles>();
  app.add_option("--tls-ca", tls->ca_file,
                 "TLS: PEM file of the CA that signed hotlined's certificate (docs/tls.md)")
      ->envname("HOTLINE_TLS_CA");
  app.add_option("--tls-cert", tls->cert_file,
                 "TLS: this client's certificate (PEM), for mutual TLS (gateways)")
      ->envname("HOTLINE_TLS_CERT");
  app.add_option("--tls-key", tls->key_file, "TLS: the private key of --tls-cert (PEM)")
      ->envname("HOTLINE_TLS_KEY");
  app.add_option("--tls-server-name", tls->server_name,
                 "TLS: the name to check hotlined's certificate for, if not --server's host")
      ->envname("HOTLINE_TLS_SERVER_NAME");
  app.parse_complete_callback([&server, &token, file, tls] {
    if (absl::Status s = SetClientTls(*tls); !s.ok()) {
      throw CLI::ValidationError(std::string(s.message()));
    }
    if (!file->empty()) {
      absl::StatusOr<std::string> read = ReadTokenFile(*file);
      if (!read.ok()) {
        throw CLI::ValidationError(std::string(read.status().message()));
      }
      token = *std::move(read);
    }
    server = WithDefaultPort(server);
    if (std::string problem = ServerPortProblem(server); !problem.empty()) {
      throw CLI::ValidationError("--server: " + problem);
    }
    Hints& hints = TheHints();
    std::lock_guard lock(hints.mu);
    hints.address = server;
  });
}

std::string CodeName(int code) {
  // gRPC status codes are the google.rpc.Code values, which Abseil names.
  if (code < 0 || code > static_cast<int>(absl::StatusCode::kUnauthenticated)) {
    return fmt::format("CODE_{}", code);
  }
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

std::string ErrorLine(const grpc::Status& status) {
  std::string line = status.error_message().empty()
                         ? "error: " + CodeName(status.error_code())
                         : fmt::format("error: {}: {}", CodeName(status.error_code()),
                                       status.error_message());
  Hints& hints = TheHints();
  std::lock_guard lock(hints.mu);
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      line += fmt::format(
          "\n  hotlined is not answering at {}: is it running? Start it with ./deploy/run, or "
          "point --server at it (host:port); if it serves TLS, pass --tls-ca (docs/tls.md)",
          hints.address);
      break;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      if (!hints.role.empty()) {
        line += fmt::format(
            "\n  this needs the {} token: set {} or pass --token-file (another role's token is "
            "refused)",
            hints.role, hints.token_env);
      }
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      line += fmt::format("\n  hotlined at {} did not answer in time", hints.address);
      break;
    default:
      break;
  }
  return line;
}

std::string NewRequestId() {
  // Not the seeded generator the simulator uses for load: these ids must differ across runs.
  thread_local std::random_device device;
  const uint64_t high = (uint64_t{device()} << 32) | device();
  const uint64_t low = (uint64_t{device()} << 32) | device();
  return fmt::format("{:016x}{:016x}", high, low);
}

}  // namespace hotline::clients
