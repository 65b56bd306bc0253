// hotlinectl's children's-data commands over SupervisorService with the supervisor token
// (docs/privacy.md): `callbacks` (pending callbacks, masked), `callback reveal ID` (the full
// number, audited), `callback done ID` (deletes the sealed number) and `audit [--since T]` (who
// viewed or exported what; reading it is audited too).
//
// Output and errors as supervisor_commands.h says. Not thread-safe: main thread only.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

namespace hotline::clients {

class PrivacyCommands final {
 public:
  // Adds the subcommands to `app`. `server_address` and `token` (the supervisor token) are read
  // when Run() is called. REQUIRES: this object outlives `app`'s parsing.
  PrivacyCommands(CLI::App& app, const std::string& server_address, const std::string& token);
  PrivacyCommands(const PrivacyCommands&) = delete;
  PrivacyCommands& operator=(const PrivacyCommands&) = delete;

  // The exit code of the subcommand on the command line, or nullopt when it named none of them.
  std::optional<int> Run() const;

 private:
  const std::string& server_address_;
  const std::string& token_;

  CLI::App* callbacks_ = nullptr;
  int limit_ = 0;
  CLI::App* callback_ = nullptr;
  CLI::App* reveal_ = nullptr;
  int64_t reveal_id_ = 0;
  CLI::App* done_ = nullptr;
  int64_t done_id_ = 0;
  CLI::App* audit_ = nullptr;
  std::string audit_since_;
  int audit_limit_ = 0;
};

}  // namespace hotline::clients
