#include "daemon/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace hotline::daemon {

namespace {

std::string Where(const std::string& source, const toml::source_region& region) {
  return absl::StrCat(source, ":", region.begin.line);
}

// Every key the file may hold, so a typo is an error rather than a silently ignored setting.
const std::set<std::string>& KnownKeys() {
  static const std::set<std::string> keys = {
      "server.grpc_listen",
      "server.http_listen",
      "storage.database",
      "security.caller_key_file",
      "storage.synchronous",
      "storage.snapshot_every_records",
      "routing.desk_grace_ms",
      "security.gateway_token",
      "security.supervisor_token",
      "security.admin_token",
      "routing.policy_file",
      "routing.regions_file",
      "routing.max_wait_ms",
      "routing.offer_timeout_ms",
      "routing.wrap_up_ms",
      "routing.missed_offers_before_break",
      "supervision.view_calls",
      "supervision.max_web_views",
      "tls.cert_file",
      "tls.key_file",
      "tls.client_ca_file",
      "tls.require_client_certificate",
      "tls.reload_interval_s",
      "tls.allow_plaintext_public",
      "tls.require_client_certificate_for",
      "security.callback_key_file",
      "routing.connect_timeout_ms",
      "retention.callers_days",
      "retention.notes_days",
      "retention.callback_days",
      "retention.audit_days",
      "retention.history_days",
      "retention.run_every_minutes",
      "limits.max_waiting_calls",
      "limits.gateway_outbox_messages",
      "limits.desk_outbox_messages",
      "limits.max_message_bytes",
      "limits.max_streams_per_connection",
      "limits.max_streams_per_peer",
      "limits.requests_per_second",
      "limits.request_burst",
      "limits.handshake_timeout_ms",
      "limits.idle_connection_ms",
      "limits.keepalive_ms",
      "limits.keepalive_timeout_ms",
      "limits.grpc_memory_bytes",
      "limits.http_workers",
      "limits.http_header_timeout_ms",
      "limits.http_io_timeout_ms",
      "limits.undelivered_commands",
      "limits.undelivered_command_ms",
  };
  return keys;
}

class Reader {
 public:
  Reader(const toml::table& root, const std::string& source) : root_(root), source_(source) {}

  absl::Status CheckKeys() const {
    for (const auto& [section, node] : root_) {
      const toml::table* table = node.as_table();
      if (table == nullptr) {
        return absl::InvalidArgumentError(
            fmt::format("{}: '{}' must be a table", Where(source_, node.source()), section.str()));
      }
      for (const auto& [key, value] : *table) {
        const std::string full = fmt::format("{}.{}", section.str(), key.str());
        if (!KnownKeys().contains(full)) {
          return absl::InvalidArgumentError(
              absl::StrCat(Where(source_, value.source()), ": unknown key '", full, "'"));
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status String(const char* path, std::string& out) const {
    const toml::node* node = root_.at_path(path).node();
    if (node == nullptr) {
      return absl::OkStatus();
    }
    const auto* value = node->as_string();
    if (value == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(Where(source_, node->source()), ": '", path, "' must be a string"));
    }
    out = value->get();
    return absl::OkStatus();
  }

  // An array of strings, each non-empty, at most `max` of them.
  absl::Status Strings(const char* path, std::vector<std::string>& out, size_t max) const {
    const toml::node* node = root_.at_path(path).node();
    if (node == nullptr) {
      return absl::OkStatus();
    }
    const auto* array = node->as_array();
    const auto refuse = [&] {
      return absl::InvalidArgumentError(
          absl::StrCat(Where(source_, node->source()), ": '", path,
                       "' must be an array of at most ", max, " non-empty strings"));
    };
    if (array == nullptr || array->size() > max) {
      return refuse();
    }
    std::vector<std::string> values;
    for (const toml::node& element : *array) {
      const auto* value = element.as_string();
      if (value == nullptr || value->get().empty()) {
        return refuse();
      }
      values.push_back(value->get());
    }
    out = std::move(values);
    return absl::OkStatus();
  }

  // A "host:port" string (ParseHostPort).
  absl::Status Listen(const char* path, std::string& out) const {
    if (absl::Status s = String(path, out); !s.ok()) {
      return s;
    }
    if (auto parsed = ParseHostPort(out, path); !parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          Where(source_, root_.at_path(path).node()->source()), ": ", parsed.status().message()));
    }
    return absl::OkStatus();
  }

  absl::Status Millis(const char* path, routing::Millis& out) const {
    int64_t value = out.count();
    if (absl::Status s = Integer(path, value, 1, 86'400'000); !s.ok()) {
      return s;
    }
    out = routing::Millis(value);
    return absl::OkStatus();
  }

  absl::Status Bool(const char* path, bool& out) const {
    const toml::node* node = root_.at_path(path).node();
    if (node == nullptr) {
      return absl::OkStatus();
    }
    const auto* value = node->as_boolean();
    if (value == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(Where(source_, node->source()), ": '", path,
                                                     "' must be true or false"));
    }
    out = value->get();
    return absl::OkStatus();
  }

  absl::Status Integer(const char* path, int64_t& out, int64_t min, int64_t max) const {
    const toml::node* node = root_.at_path(path).node();
    if (node == nullptr) {
      return absl::OkStatus();
    }
    const auto* value = node->as_integer();
    if (value == nullptr || value->get() < min || value->get() > max) {
      return absl::InvalidArgumentError(absl::StrCat(Where(source_, node->source()), ": '", path,
                                                     "' must be an integer from ", min, " to ",
                                                     max));
    }
    out = value->get();
    return absl::OkStatus();
  }

 private:
  const toml::table& root_;
  const std::string& source_;
};

}  // namespace

std::string CallbackKeyFile(const Config& config) {
  if (!config.callback_key_file.empty()) {
    return config.callback_key_file;
  }
  return (std::filesystem::path(config.caller_key_file).parent_path() / "callback.key").string();
}

absl::StatusOr<HostPort> ParseHostPort(const std::string& value, std::string_view key) {
  const size_t colon = value.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(fmt::format("{}: '{}' is not host:port", key, value));
  }
  const std::string port = value.substr(colon + 1);
  // At most five digits, so the number cannot overflow before the range check.
  const bool digits = !port.empty() && port.size() <= 5 &&
                      std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || std::stoi(port) > 65535) {
    return absl::InvalidArgumentError(
        fmt::format("{}: port '{}' is not a number from 0 to 65535", key, port));
  }
  return HostPort{value.substr(0, colon), std::stoi(port)};
}

absl::Status CheckTlsConfig(const TlsConfig& tls) {
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        "'tls.cert_file' and 'tls.key_file' go together: set both for TLS, or neither");
  }
  if (!tls.enabled() && !tls.client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "'tls.client_ca_file' needs TLS: set 'tls.cert_file' and 'tls.key_file' too");
  }
  if (tls.require_client_certificate && tls.client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "'tls.require_client_certificate' needs 'tls.client_ca_file', the CA that signs "
        "gateways' certificates");
  }
  if (!tls.require_client_certificate_for.empty() && tls.client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "'tls.require_client_certificate_for' needs 'tls.client_ca_file', the CA that signs "
        "gateways' certificates");
  }
  if (tls.reload_interval_s < 1) {
    return absl::InvalidArgumentError("'tls.reload_interval_s' must be at least 1");
  }
  return absl::OkStatus();
}

absl::StatusOr<Config> ParseConfig(const std::string& text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(
        fmt::format("{}:{}: {}", source, e.source().begin.line, e.description()));
  }
  Reader r(root, source);
  Config c;
  int64_t missed = c.engine.missed_offers_before_break;
  std::string synchronous = c.synchronous;
  for (absl::Status s : {
           r.CheckKeys(),
           r.Listen("server.grpc_listen", c.grpc_listen),
           r.Listen("server.http_listen", c.http_listen),
           r.String("storage.database", c.database),
           r.String("storage.synchronous", synchronous),
           r.Integer("storage.snapshot_every_records", c.snapshot_every_records, 1, 100'000'000),
           r.Millis("routing.desk_grace_ms", c.engine.desk_grace_ms),
           r.String("security.caller_key_file", c.caller_key_file),
           r.String("security.gateway_token", c.gateway_token),
           r.String("security.supervisor_token", c.supervisor_token),
           r.String("security.admin_token", c.admin_token),
           r.String("routing.policy_file", c.policy_file),
           r.String("routing.regions_file", c.regions_file),
           r.Millis("routing.max_wait_ms", c.engine.max_wait_ms),
           r.Millis("routing.offer_timeout_ms", c.engine.offer_timeout_ms),
           r.Millis("routing.connect_timeout_ms", c.engine.connect_timeout_ms),
           r.Millis("routing.wrap_up_ms", c.engine.wrap_up_ms),
           r.Integer("routing.missed_offers_before_break", missed, 1, 100),
           r.Integer("supervision.view_calls", c.view_calls, 1, 1000),
           r.Integer("supervision.max_web_views", c.max_web_views, 1, 64),
           r.String("tls.cert_file", c.tls.cert_file),
           r.String("tls.key_file", c.tls.key_file),
           r.String("tls.client_ca_file", c.tls.client_ca_file),
           r.Bool("tls.require_client_certificate", c.tls.require_client_certificate),
           r.Strings("tls.require_client_certificate_for", c.tls.require_client_certificate_for,
                     10'000),
           r.Integer("tls.reload_interval_s", c.tls.reload_interval_s, 1, 86'400),
           r.Bool("tls.allow_plaintext_public", c.tls.allow_plaintext_public),
           r.String("security.callback_key_file", c.callback_key_file),
           r.Integer("retention.callers_days", c.retention.callers_days, 1, 36'500),
           r.Integer("retention.notes_days", c.retention.notes_days, 1, 36'500),
           r.Integer("retention.callback_days", c.retention.callback_days, 1, 36'500),
           r.Integer("retention.audit_days", c.retention.audit_days, 1, 36'500),
           r.Integer("retention.history_days", c.retention.history_days, 1, 36'500),
           r.Integer("retention.run_every_minutes", c.retention.run_every_minutes, 1, 1440),
           r.Integer("limits.max_waiting_calls", c.limits.max_waiting_calls, 1, 1'000'000),
           r.Integer("limits.gateway_outbox_messages", c.limits.gateway_outbox_messages, 100,
                     10'000'000),
           r.Integer("limits.desk_outbox_messages", c.limits.desk_outbox_messages, 10, 1'000'000),
           r.Integer("limits.max_message_bytes", c.limits.max_message_bytes, 64 * 1024,
                     1024 * 1024 * 1024),
           r.Integer("limits.max_streams_per_connection", c.limits.max_streams_per_connection, 1,
                     100'000),
           r.Integer("limits.max_streams_per_peer", c.limits.max_streams_per_peer, 1, 1'000'000),
           r.Integer("limits.requests_per_second", c.limits.requests_per_second, 1, 1'000'000),
           r.Integer("limits.request_burst", c.limits.request_burst, 1, 10'000'000),
           r.Integer("limits.handshake_timeout_ms", c.limits.handshake_timeout_ms, 100, 3'600'000),
           r.Integer("limits.idle_connection_ms", c.limits.idle_connection_ms, 1'000, 86'400'000),
           r.Integer("limits.keepalive_ms", c.limits.keepalive_ms, 1'000, 7'200'000),
           r.Integer("limits.keepalive_timeout_ms", c.limits.keepalive_timeout_ms, 1'000, 600'000),
           r.Integer("limits.grpc_memory_bytes", c.limits.grpc_memory_bytes, 16 * 1024 * 1024,
                     int64_t{64} * 1024 * 1024 * 1024),
           r.Integer("limits.http_workers", c.limits.http_workers, 2, 4'096),
           r.Integer("limits.http_header_timeout_ms", c.limits.http_header_timeout_ms, 100,
                     3'600'000),
           r.Integer("limits.http_io_timeout_ms", c.limits.http_io_timeout_ms, 100, 3'600'000),
           r.Integer("limits.undelivered_commands", c.limits.undelivered_commands, 1, 10'000'000),
           r.Integer("limits.undelivered_command_ms", c.limits.undelivered_command_ms, 1'000,
                     86'400'000),
       }) {
    if (!s.ok()) {
      return s;
    }
  }
  c.engine.missed_offers_before_break = static_cast<int>(missed);
  if (synchronous != "NORMAL" && synchronous != "FULL") {
    // Named with its line, as every other value is (the key is there: the default is valid).
    const toml::node* node = root.at_path("storage.synchronous").node();
    return absl::InvalidArgumentError(
        fmt::format("{}: 'storage.synchronous' must be \"NORMAL\" or \"FULL\"",
                    node != nullptr ? Where(source, node->source()) : source));
  }
  c.synchronous = synchronous;
  if (absl::Status s = CheckTlsConfig(c.tls); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", s.message()));
  }
  return c;
}

absl::StatusOr<Config> LoadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("config file '", path, "' cannot be read"));
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path);
}

}  // namespace hotline::daemon
