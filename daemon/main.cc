// hotlined: the Hotline routing daemon. Reads its TOML config, applies command-line overrides,
// runs until SIGTERM or SIGINT, then shuts down cleanly.
//
// Exit status: 0 after SIGTERM or SIGINT; 1 when it cannot start (the database is in use by
// another hotlined, a port is taken, ...); 2 for a bad config; 3 when the journal writer stopped
// for good (a commit refused for a reason retrying cannot mend): a supervisor restarts it and
// recovery from the journal takes over.
#include <absl/strings/str_cat.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/logging.h"
#include "daemon/tls.h"
#include "storage/store.h"

namespace {

constexpr int kCannotStart = 1;
constexpr int kBadConfig = 2;
constexpr int kWriterFailed = 3;

// How long the shutdown after a writer failure may take before SIGALRM ends the process: nobody
// asked for that shutdown, so nobody would notice it hanging.
constexpr unsigned kFailedShutdownLimitS = 30;

// How long hotlined waits at exit for stdout's reader to take the last log lines.
constexpr std::chrono::milliseconds kLogPatience{5'000};

// Why hotlined cannot run, on stderr in one write: the log thread may be writing a line to the
// same terminal meanwhile (a refused start logs "hotlined shutting down"), and a line written in
// pieces came out with that line in its middle.
void SayWhy(absl::string_view why) {
  const std::string line = absl::StrCat("hotlined: ", why, "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

// Everything main does but the first and the last steps; the exit status.
int Run(int argc, char** argv) {
  // Block the stop signals in every thread (threads inherit the mask; the log thread is the
  // first), then wait for them in sigwait below. A signal unblocked in any thread would be
  // delivered there, and its default action would end the process without shutting down.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  // A reader of stdout that closes its end gets the log thread EPIPE (its lines then go), not
  // the process killed.
  signal(SIGPIPE, SIG_IGN);

  CLI::App app{"hotlined: the call-routing daemon of the 18001567 child helpline"};
  std::string config_path = "deploy/hotline.toml";
  std::string grpc_listen, http_listen, database, caller_key_file, log_level = "info";
  app.add_option("-c,--config", config_path, "TOML config file")->capture_default_str();
  app.add_option("--grpc-listen", grpc_listen, "host:port for gRPC (overrides the config)");
  app.add_option("--http-listen", http_listen, "host:port for HTTP (overrides the config)");
  app.add_option("--database", database, "SQLite database file (overrides the config)");
  app.add_option("--caller-key-file", caller_key_file, "caller key file (overrides the config)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn or error")
      ->capture_default_str();
  std::size_t log_queue_lines = hotline::daemon::kLogQueueLines;
  app.add_option("--log-queue-lines", log_queue_lines,
                 "Log lines that may wait for stdout's reader; past them the oldest is dropped")
      ->check(CLI::Range(std::size_t{16}, hotline::daemon::kMostLogQueueLines))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  spdlog::set_level(spdlog::level::from_str(log_level));
  // Before any other thread: no thread that routes calls waits for the log's reader
  // (daemon/logging.h).
  hotline::daemon::LogThroughQueue(log_queue_lines);
  hotline::daemon::RouteProtobufLog();
  auto config = hotline::daemon::LoadConfig(config_path);
  if (!config.ok()) {
    SayWhy(config.status().message());
    return kBadConfig;
  }
  if (!grpc_listen.empty()) config->grpc_listen = grpc_listen;
  if (!http_listen.empty()) config->http_listen = http_listen;
  for (const auto& [value, option] : {std::pair{grpc_listen, "--grpc-listen"},
                                      std::pair{http_listen, "--http-listen"}}) {
    if (auto parsed = hotline::daemon::ParseHostPort(value, option);
        !value.empty() && !parsed.ok()) {
      SayWhy(parsed.status().message());
      return kBadConfig;
    }
  }
  if (!database.empty()) config->database = database;
  if (!caller_key_file.empty()) config->caller_key_file = caller_key_file;
  // A plaintext listener off loopback is a configuration error (docs/tls.md), whichever of the
  // file and the command line put it there.
  if (absl::Status s = hotline::daemon::CheckPlaintextListeners(*config); !s.ok()) {
    SayWhy(s.message());
    return kBadConfig;
  }

  // A writer that stopped for good wakes the sigwait below, as SIGTERM would, so the daemon still
  // shuts down cleanly (streams told UNAVAILABLE, so gateways reconnect to the restarted daemon
  // and resend what was never acknowledged; logs flushed; the database closed) rather than
  // _exit()ing from the writer thread. The signal is process-directed and blocked in every
  // thread, so it waits for sigwait even when it is raised before main gets there.
  auto daemon = hotline::daemon::Daemon::Start(
      *config, nullptr, [](const absl::Status&) { kill(getpid(), SIGTERM); });
  if (!daemon.ok()) {
    SayWhy(absl::StrCat("cannot start: ", daemon.status().message()));
    return kCannotStart;
  }
  // One line a script can wait for, with the ports actually bound.
  auto host = [](const std::string& hostport) { return hostport.substr(0, hostport.rfind(':')); };
  // Each line is put together first and written whole: the daemon's threads log to stdout too
  // (a retention pass at start, say), and a log line written between two pieces of this one
  // broke it for the scripts that read the port from it.
  std::ostringstream ready;
  ready << "hotlined ready: grpc=" << host(config->grpc_listen) << ":" << (*daemon)->grpc_port()
        << " http=" << host(config->http_listen) << ":" << (*daemon)->http_port()
        << " database=" << config->database
        << " tls=" << (config->tls.enabled() ? "on" : "off") << "\n";
  std::cout << ready.str() << std::flush;
  // And for a person (deploy/run's banner leaves the addresses to this): the ports bound, which
  // port 0 or a command-line override make different from the config file's.
  const std::string grpc = host(config->grpc_listen) + ":" + std::to_string((*daemon)->grpc_port());
  const std::string web =
      std::string(config->tls.enabled() ? "https://" : "http://") + host(config->http_listen) +
      ":" + std::to_string((*daemon)->http_port());
  std::ostringstream banner;
  banner << "  gRPC       " << grpc << "   (check: hotlinectl status --server " << grpc
         << (config->tls.enabled() ? " --tls-ca <the CA file>" : "") << ")\n"
         << "  live view  " << web << "/   (health " << web << "/healthz, metrics " << web
         << "/metrics)\n";
  std::cout << banner.str() << std::flush;
  int signal = 0;
  sigwait(&stop, &signal);
  if (const absl::Status failure = (*daemon)->failure(); !failure.ok()) {
    spdlog::critical("stopping: the journal writer stopped for good: {}", failure.ToString());
    alarm(kFailedShutdownLimitS);  // SIGALRM is not blocked: its default action ends us.
  } else {
    spdlog::info("received {}", signal == SIGTERM ? "SIGTERM" : "SIGINT");
  }
  (*daemon)->Shutdown();
  alarm(0);  // Stopped: EndLogging's own patience bounds what is left.
  // Checked again: a refusal may also come while the shutdown writes what is left.
  if (!(*daemon)->failure().ok()) {
    return kWriterFailed;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  hotline::storage::ConfigureSqliteForProcess();  // First: before any thread or database.
  const int code = Run(argc, argv);
  // The daemon has stopped (its streams closed, the database closed); what is left is the log.
  return hotline::daemon::EndLogging(code, kLogPatience);
}
