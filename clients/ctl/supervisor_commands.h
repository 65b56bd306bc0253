// hotlinectl's supervisor subcommands, over SupervisorService with the supervisor token:
// `queue [--watch]`, `presence`, `priority`, `never` and `explain`.
//
// The supervisor token comes from HOTLINE_SUPERVISOR_TOKEN or --supervisor-token, never from the
// admin --token. Every command prints its result on stdout and failures on stderr as one
// "error: ..." line in words with the server's message, and returns the process exit code (0, or
// 1 on any failure). A refused token is named: the command needs the supervisor token, not the
// admin one.
//
// Not thread-safe: built and run on the main thread (`queue --watch` starts its own threads).
#pragma once

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "clients/common/client.h"

namespace hotline::clients {

class SupervisorCommands final {
 public:
  // Adds the subcommands and --supervisor-token to `app`. `server_address` is read when Run() is
  // called, after parsing.
  // REQUIRES: this object outlives `app`'s parsing (CLI11 writes into its members).
  SupervisorCommands(CLI::App& app, const std::string& server_address);
  SupervisorCommands(const SupervisorCommands&) = delete;
  SupervisorCommands& operator=(const SupervisorCommands&) = delete;

  // The exit code of the supervisor subcommand on the command line, or nullopt when it named
  // none of them. REQUIRES: `app` has parsed the command line.
  std::optional<int> Run() const;

  // The supervisor token given (--supervisor-token or HOTLINE_SUPERVISOR_TOKEN), for the other
  // SupervisorService commands (report, dispositions); empty when none was.
  const std::string& token() const { return token_; }

 private:
  const std::string& server_address_;
  std::string token_;

  CLI::App* queue_ = nullptr;
  bool watch_ = false;

  CLI::App* presence_ = nullptr;
  std::string presence_counsellor_;
  std::string presence_state_;

  CLI::App* priority_ = nullptr;
  std::string priority_call_;
  std::string new_priority_;

  CLI::App* never_ = nullptr;
  std::string never_call_;
  std::string never_counsellor_;

  CLI::App* explain_ = nullptr;
  std::string explain_call_;
  CLI::App* end_ = nullptr;
  std::string end_call_;
  std::string end_reason_;
};

// Adds --supervisor-token to `app`, falling back to HOTLINE_SUPERVISOR_TOKEN: the one way every
// SupervisorService command takes its token (with app.fallthrough(), before or after the
// subcommand).
void AddSupervisorTokenOption(CLI::App& app, std::string& token);

// A connection carrying the supervisor token, or nullopt, said on stderr, when `token` is empty.
std::optional<Server> SupervisorServer(const std::string& address, const std::string& token);

// A failed supervisor call in words: "<what happened>: <the server's message> (<CODE>)".
// UNAUTHENTICATED and PERMISSION_DENIED say that the supervisor token (HOTLINE_SUPERVISOR_TOKEN)
// is needed, not the admin one; UNAVAILABLE names `address`.
std::string SupervisorErrorText(const grpc::Status& status, const std::string& address);
// The same as the one stderr line: "error: " and the text.
std::string SupervisorErrorLine(const grpc::Status& status, const std::string& address);

}  // namespace hotline::clients
