// Accounts: who may call what (docs/security.md). Every bearer token is one principal of one role:
//   - a named account of the gateway, supervisor or admin role, issued, rotated and revoked with
//     AdminService (hotlinectl account ...), stored as a hash in the `accounts` table; a gateway
//     account is tied to one gateway_id;
//   - a bootstrap token of the config file ([security] gateway_token, supervisor_token,
//     admin_token), the principal "<role>:config"; the shared gateway_token may say Hello as any
//     gateway, so it is accepted only while every bind is loopback (CheckConfigTokens);
//   - a counsellor's desk token, which EngineHost keeps (counsellors table) and is not here.
// Revoking or rotating an account closes every stream its token opened (gateway Connect,
// WatchQueue, the web page's /api/queue/events) with UNAUTHENTICATED at once: streams register
// here when they open (Track).
//
// Thread-safety: every method may be called from any thread. Issue, Rotate and Revoke write to
// the store and must be called on the store's owner thread (EngineHost::RunOnStore).
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "daemon/config.h"
#include "storage/batch.h"
#include "storage/store.h"

namespace hotline::daemon {

enum class Role { kGateway, kDesk, kSupervisor, kAdmin };

// "gateway", "desk", "supervisor", "admin".
std::string_view RoleName(Role role);

// Who made a request.
struct Principal {
  Role role = Role::kGateway;
  // The account name; "config" for a config file token; the counsellor id for a desk.
  std::string name;
  // Gateway accounts: the only gateway_id this principal may say Hello as. Empty for the
  // config file's shared gateway_token, which may say Hello as any gateway (loopback only).
  std::string gateway_id;
  bool bootstrap = false;  // a config file token
};

// "<role>:<name>", e.g. "supervisor:alice", "admin:config", "desk:lan": the identity audit
// records and logs name.
std::string PrincipalName(const Principal& principal);

// What the config file's tokens may be, given the binds: OK, or FAILED_PRECONDITION naming the
// key. While grpc_listen and http_listen are both loopback, anything goes (gateway_token too,
// with a warning logged at start: WarnAboutConfigTokens). Once either is not:
//   - a token starting "dev-" is refused (the shipped development tokens);
//   - a weak token is refused: shorter than kMinTokenLength characters or with fewer than
//     kMinDistinctChars distinct characters;
//   - gateway_token is refused whatever it is: on a reachable bind every gateway needs its own
//     account (hotlinectl account issue --role gateway --gateway-id ...).
absl::Status CheckConfigTokens(const Config& config);
void WarnAboutConfigTokens(const Config& config);
inline constexpr size_t kMinTokenLength = 32;
inline constexpr size_t kMinDistinctChars = 10;

class Accounts final {
 public:
  explicit Accounts(const Config& config);
  Accounts(const Accounts&) = delete;
  Accounts& operator=(const Accounts&) = delete;

  // Replaces the accounts with the stored ones (start-up).
  void Load(const std::vector<storage::StoredAccount>& stored);

  // The principal `token` stands for in `role`, or nullopt: an unknown, revoked or rotated-out
  // token, or one of another role. Config tokens are compared in constant time; account tokens
  // are looked up by hash.
  std::optional<Principal> Authenticate(const std::string& token, Role role) const;
  // The same for the call's `authorization: Bearer <token>`.
  std::optional<Principal> Authenticate(const grpc::ServerContext& ctx, Role role) const;
  // For audit records: PrincipalName of the caller of `ctx` in `role`, or "" when its token is
  // not valid for that role.
  std::string PrincipalNameFor(const grpc::ServerContext& ctx, Role role) const;

  // Registers an open stream of `principal` so a rotation or revocation of its account closes
  // it (`close` runs with UNAUTHENTICATED, at most once, on the thread that revokes). `alive`
  // says whether the stream still exists; dead entries are dropped. Bootstrap principals are
  // not tracked (config tokens change only with a restart).
  void Track(const Principal& principal, std::weak_ptr<void> alive,
             std::function<void(const grpc::Status&)> close);

  struct Issued {
    storage::StoredAccount account;
    std::string token;
  };
  // A new account with a fresh token. INVALID_ARGUMENT naming the field; ALREADY_EXISTS for a
  // name taken (revoked accounts keep theirs). `now_ms` is Unix milliseconds.
  absl::StatusOr<Issued> Issue(storage::Store& store, const std::string& name, Role role,
                               const std::string& gateway_id, int64_t now_ms);
  // A fresh token for the account; the old one's streams are closed. NOT_FOUND; FAILED_PRECONDITION
  // for a revoked account.
  absl::StatusOr<Issued> Rotate(storage::Store& store, const std::string& name, int64_t now_ms);
  // Revokes the account and closes its streams. NOT_FOUND; a second revoke changes nothing.
  absl::StatusOr<storage::StoredAccount> Revoke(storage::Store& store, const std::string& name,
                                                int64_t now_ms);
  std::vector<storage::StoredAccount> List() const;

  // How many open streams are tracked for an account (tests).
  size_t TrackedStreams(const std::string& name) const;

 private:
  struct Tracked {
    std::weak_ptr<void> alive;
    std::function<void(const grpc::Status&)> close;
  };
  // Closes (outside the lock) every tracked stream of `name`.
  void CloseStreams(const std::string& name, const std::string& why);

  const Config& config_;
  mutable std::mutex mu_;
  std::map<std::string, storage::StoredAccount> by_name_;     // Guarded by mu_.
  std::map<std::string, std::string> name_by_hash_;           // Active only. Guarded by mu_.
  std::multimap<std::string, Tracked> streams_;               // By account name. Guarded by mu_.
};

}  // namespace hotline::daemon
