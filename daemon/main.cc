// hotlined: the Hotline routing daemon. Reads its TOML config, applies command-line overrides,
// runs until SIGTERM or SIGINT, then shuts down cleanly.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "daemon/config.h"
#include "daemon/daemon.h"

int main(int argc, char** argv) {
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
  CLI11_PARSE(app, argc, argv);

  spdlog::set_level(spdlog::level::from_str(log_level));
  auto config = hotline::daemon::LoadConfig(config_path);
  if (!config.ok()) {
    std::cerr << "hotlined: " << config.status().message() << "\n";
    return 2;
  }
  if (!grpc_listen.empty()) config->grpc_listen = grpc_listen;
  if (!http_listen.empty()) config->http_listen = http_listen;
  if (!database.empty()) config->database = database;
  if (!caller_key_file.empty()) config->caller_key_file = caller_key_file;

  // Block the stop signals in every thread (threads inherit the mask), then wait for them here.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  auto daemon = hotline::daemon::Daemon::Start(*config);
  if (!daemon.ok()) {
    std::cerr << "hotlined: cannot start: " << daemon.status().message() << "\n";
    return 1;
  }
  // One line a script can wait for, with the ports actually bound.
  auto host = [](const std::string& hostport) { return hostport.substr(0, hostport.rfind(':')); };
  std::cout << "hotlined ready: grpc=" << host(config->grpc_listen) << ":" << (*daemon)->grpc_port()
            << " http=" << host(config->http_listen) << ":" << (*daemon)->http_port()
            << " database=" << config->database << std::endl;
  int signal = 0;
  sigwait(&stop, &signal);
  spdlog::info("received {}", signal == SIGTERM ? "SIGTERM" : "SIGINT");
  (*daemon)->Shutdown();
  return 0;
}
