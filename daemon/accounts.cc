#include "daemon/accounts.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "daemon/caller_key.h"
#include "daemon/rpc.h"
#include "daemon/services.h"
#include "daemon/tls.h"

namespace hotline::daemon {

namespace {

std::optional<Role> RoleFromName(std::string_view name) {
  for (Role r : {Role::kGateway, Role::kDesk, Role::kSupervisor, Role::kAdmin}) {
    if (RoleName(r) == name) {
      return r;
    }
  }
  return std::nullopt;
}

absl::Status ValidateName(const std::string& value, std::string_view field) {
  if (value.empty() || value.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": must be 1 to 64 characters of A-Z a-z 0-9 . _ -"));
  }
  const bool plain = std::all_of(value.begin(), value.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
  });
  if (!plain) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": must be 1 to 64 characters of A-Z a-z 0-9 . _ -"));
  }
  return absl::OkStatus();
}

bool Weak(const std::string& token) {
  const std::set<char> distinct(token.begin(), token.end());
  return token.size() < kMinTokenLength || distinct.size() < kMinDistinctChars;
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kGateway:
      return "gateway";
    case Role::kDesk:
      return "desk";
    case Role::kSupervisor:
      return "supervisor";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

std::string PrincipalName(const Principal& principal) {
  return absl::StrCat(std::string(RoleName(principal.role)), ":", principal.name);
}

absl::Status CheckConfigTokens(const Config& config) {
  std::vector<std::string> exposed;
  for (const auto& [value, key] : {std::pair{&config.grpc_listen, "server.grpc_listen"},
                                   std::pair{&config.http_listen, "server.http_listen"}}) {
    auto parsed = ParseHostPort(*value, key);
    if (parsed.ok() && !IsLoopbackHost(parsed->host)) {
      exposed.push_back(absl::StrCat(key, " '", *value, "'"));
    }
  }
  if (exposed.empty()) {
    return absl::OkStatus();
  }
  const std::string why = absl::StrCat(" (", exposed.front(), " is not a loopback address)");
  if (!config.gateway_token.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "security.gateway_token: the shared gateway token may say Hello as any gateway and is "
        "for development on loopback only",
        why, "; give each gateway its own account: hotlinectl account issue NAME --role gateway "
             "--gateway-id ID"));
  }
  for (const auto& [value, key] : {std::pair{&config.supervisor_token, "security.supervisor_token"},
                                   std::pair{&config.admin_token, "security.admin_token"}}) {
    if (value->empty()) {
      continue;
    }
    if (value->starts_with("dev-")) {
      return absl::FailedPreconditionError(
          absl::StrCat(key, ": a development token (dev-...) is refused", why));
    }
    if (Weak(*value)) {
      return absl::FailedPreconditionError(absl::StrCat(
          key, ": too weak: at least ", kMinTokenLength, " characters with at least ",
          kMinDistinctChars, " different ones are required", why,
          "; e.g. openssl rand -hex 32"));
    }
  }
  return absl::OkStatus();
}

void WarnAboutConfigTokens(const Config& config) {
  if (!config.gateway_token.empty()) {
    spdlog::warn(
        "security.gateway_token is set: any local process holding it may say Hello as any "
        "gateway. A development credential, accepted on loopback binds only (docs/security.md)");
  }
  for (const auto& [value, key] : {std::pair{&config.supervisor_token, "supervisor_token"},
                                   std::pair{&config.admin_token, "admin_token"}}) {
    if (!value->empty() && (value->starts_with("dev-") || Weak(*value))) {
      spdlog::warn("security.{} is a development or weak token: accepted on loopback binds only",
                   key);
    }
  }
}

Accounts::Accounts(const Config& config) : config_(config) {}

void Accounts::Load(const std::vector<storage::StoredAccount>& stored) {
  std::lock_guard lock(mu_);
  by_name_.clear();
  name_by_hash_.clear();
  for (const storage::StoredAccount& a : stored) {
    by_name_[a.name] = a;
    if (a.revoked_at_ms == 0) {
      name_by_hash_[a.token_hash] = a.name;
    }
  }
}

std::optional<Principal> Accounts::Authenticate(const std::string& token, Role role) const {
  if (token.empty()) {
    return std::nullopt;
  }
  const std::string* bootstrap = nullptr;
  switch (role) {
    case Role::kGateway:
      bootstrap = &config_.gateway_token;
      break;
    case Role::kSupervisor:
      bootstrap = &config_.supervisor_token;
      break;
    case Role::kAdmin:
      bootstrap = &config_.admin_token;
      break;
    case Role::kDesk:
      return std::nullopt;  // Desk tokens are the engine's (EngineHost::CounsellorFor).
  }
  if (SameToken(token, *bootstrap)) {
    return Principal{role, "config", "", true};
  }
  const std::string hash = TokenHash(token);
  std::lock_guard lock(mu_);
  auto it = name_by_hash_.find(hash);
  if (it == name_by_hash_.end()) {
    return std::nullopt;
  }
  const storage::StoredAccount& a = by_name_.at(it->second);
  if (RoleFromName(a.role) != role) {
    return std::nullopt;
  }
  return Principal{role, a.name, a.gateway_id, false};
}

std::optional<Principal> Accounts::Authenticate(const grpc::ServerContext& ctx, Role role) const {
  return Authenticate(rpc::BearerToken(ctx), role);
}

std::string Accounts::PrincipalNameFor(const grpc::ServerContext& ctx, Role role) const {
  auto principal = Authenticate(ctx, role);
  return principal ? PrincipalName(*principal) : "";
}

void Accounts::Track(const Principal& principal, std::weak_ptr<void> alive,
                     std::function<void(const grpc::Status&)> close) {
  if (principal.bootstrap) {
    return;
  }
  bool revoked = false;
  {
    std::lock_guard lock(mu_);
    std::erase_if(streams_, [](const auto& entry) { return entry.second.alive.expired(); });
    // Revoked between the stream's authentication and now: close it rather than track it.
    auto it = by_name_.find(principal.name);
    revoked = it == by_name_.end() || it->second.revoked_at_ms != 0;
    if (!revoked) {
      streams_.emplace(principal.name, Tracked{std::move(alive), close});
    }
  }
  if (revoked) {
    close(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                       "authorization: this token was revoked"));
  }
}

size_t Accounts::TrackedStreams(const std::string& name) const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  auto [begin, end] = streams_.equal_range(name);
  for (auto it = begin; it != end; ++it) {
    n += it->second.alive.expired() ? 0 : 1;
  }
  return n;
}

void Accounts::CloseStreams(const std::string& name, const std::string& why) {
  std::vector<Tracked> closing;
  {
    std::lock_guard lock(mu_);
    auto [begin, end] = streams_.equal_range(name);
    for (auto it = begin; it != end; ++it) {
      closing.push_back(std::move(it->second));
    }
    streams_.erase(name);
  }
  for (Tracked& t : closing) {
    if (!t.alive.expired()) {
      t.close(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, why));
    }
  }
}

absl::StatusOr<Accounts::Issued> Accounts::Issue(storage::Store& store, const std::string& name,
                                                 Role role, const std::string& gateway_id,
                                                 int64_t now_ms) {
  if (absl::Status s = ValidateName(name, "name"); !s.ok()) {
    return s;
  }
  if (role == Role::kDesk) {
    return absl::InvalidArgumentError(
        "role: one of gateway, supervisor or admin (desk tokens come with the counsellor)");
  }
  if (role == Role::kGateway) {
    if (absl::Status s = ValidateName(gateway_id, "gateway_id"); !s.ok()) {
      return s;
    }
  } else if (!gateway_id.empty()) {
    return absl::InvalidArgumentError("gateway_id: only for gateway accounts");
  }
  {
    std::lock_guard lock(mu_);
    if (by_name_.contains(name)) {
      return absl::AlreadyExistsError(
          absl::StrCat("name: an account '", name, "' exists already (revoked names stay taken)"));
    }
  }
  Issued issued{storage::StoredAccount{name, std::string(RoleName(role)), gateway_id, "", now_ms, 0},
                NewToken()};
  issued.account.token_hash = TokenHash(issued.token);
  if (absl::Status s = store.SaveAccount(issued.account); !s.ok()) {
    return s;
  }
  std::lock_guard lock(mu_);
  by_name_[name] = issued.account;
  name_by_hash_[issued.account.token_hash] = name;
  spdlog::info("account '{}' ({}) issued", name, issued.account.role);
  return issued;
}

absl::StatusOr<Accounts::Issued> Accounts::Rotate(storage::Store& store, const std::string& name,
                                                  int64_t now_ms) {
  if (absl::Status s = ValidateName(name, "name"); !s.ok()) {
    return s;
  }
  Issued issued;
  {
    std::lock_guard lock(mu_);
    auto it = by_name_.find(name);
    if (it == by_name_.end()) {
      return absl::NotFoundError(absl::StrCat("name: no account '", name, "'"));
    }
    if (it->second.revoked_at_ms != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("name: account '", name, "' is revoked; issue a new one"));
    }
    issued.account = it->second;
  }
  const std::string old_hash = issued.account.token_hash;
  issued.token = NewToken();
  issued.account.token_hash = TokenHash(issued.token);
  issued.account.issued_at_ms = now_ms;
  if (absl::Status s = store.SaveAccount(issued.account); !s.ok()) {
    return s;
  }
  {
    std::lock_guard lock(mu_);
    name_by_hash_.erase(old_hash);
    name_by_hash_[issued.account.token_hash] = name;
    by_name_[name] = issued.account;
  }
  CloseStreams(name, "authorization: this token was rotated out");
  spdlog::info("account '{}' token rotated", name);
  return issued;
}

absl::StatusOr<storage::StoredAccount> Accounts::Revoke(storage::Store& store,
                                                        const std::string& name, int64_t now_ms) {
  if (absl::Status s = ValidateName(name, "name"); !s.ok()) {
    return s;
  }
  storage::StoredAccount account;
  {
    std::lock_guard lock(mu_);
    auto it = by_name_.find(name);
    if (it == by_name_.end()) {
      return absl::NotFoundError(absl::StrCat("name: no account '", name, "'"));
    }
    if (it->second.revoked_at_ms != 0) {
      return it->second;
    }
    account = it->second;
  }
  account.revoked_at_ms = now_ms;
  if (absl::Status s = store.SaveAccount(account); !s.ok()) {
    return s;
  }
  {
    std::lock_guard lock(mu_);
    name_by_hash_.erase(account.token_hash);
    by_name_[name] = account;
  }
  CloseStreams(name, "authorization: this token was revoked");
  spdlog::info("account '{}' revoked", name);
  return account;
}

std::vector<storage::StoredAccount> Accounts::List() const {
  std::lock_guard lock(mu_);
  std::vector<storage::StoredAccount> out;
  for (const auto& [name, a] : by_name_) {
    out.push_back(a);
  }
  return out;
}

}  // namespace hotline::daemon
