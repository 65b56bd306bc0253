// hotlinectl's subcommands. Each makes its calls, prints its result on stdout, prints failures as
// "error: <CODE>: <message>" on stderr, and returns the process exit code (0 or 1).
#pragma once

#include <absl/status/statusor.h>

#include <string>
#include <string_view>
#include <vector>

#include "clients/common/client.h"
#include "hotline/v1/common.pb.h"

namespace hotline::clients {

// A counsellor profile as given on the command line. For `update`, empty fields keep the
// current value.
struct CounsellorFlags {
  std::string id;
  std::string name;
  std::string home_province;
  std::vector<std::string> provinces;
  // "topic:level", e.g. "counselling:4".
  std::vector<std::string> skills;
  std::vector<std::string> languages;
  // female|male; empty for none.
  std::string gender;
  std::string endpoint;
};

// Health check (service ""), then the service list from reflection. No token needed. Exit 1
// unless the server answers SERVING.
int ShowStatus(const std::string& address);

// CreateCounsellor. The last line printed is exactly "token: <token>" for scripts.
int AddCounsellor(const Server& server, const CounsellorFlags& flags);
// UpdateCounsellor with the current profile overlaid by the flags given.
int UpdateCounsellor(const Server& server, const CounsellorFlags& flags);
// A table of every counsellor and their live state.
int ListCounsellors(const Server& server);
// `sign_out`: sign a signed-in counsellor out and close their desk first, in the same request.
int RemoveCounsellor(const Server& server, const std::string& id, bool sign_out = false);
// RotateCounsellorToken; the last line printed is exactly "token: <token>".
int RotateCounsellorToken(const Server& server, const std::string& id);

// Accounts (docs/security.md). issue and rotate print "token: <token>" as their last line.
// `role` is gateway, supervisor or admin; `gateway_id` only for gateway.
int IssueAccount(const Server& server, const std::string& name, const std::string& role,
                 const std::string& gateway_id);
int RotateAccount(const Server& server, const std::string& name);
int RevokeAccount(const Server& server, const std::string& name);
int ListAccounts(const Server& server);
int ReloadPolicy(const Server& server);

// Parses "topic:level" with level 1–5.
absl::StatusOr<hotline::v1::TopicSkill> ParseSkill(std::string_view text);

}  // namespace hotline::clients
