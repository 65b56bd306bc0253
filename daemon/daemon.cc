#include "daemon/daemon.h"

#include <fcntl.h>
#include <grpc/grpc.h>
#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/resource_quota.h>
#include <httplib.h>
#include <malloc.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "daemon/caller_key.h"
#include "daemon/convert.h"
#include "daemon/data_files.h"
#include "daemon/engine_host.h"
#include "daemon/health_service.h"
#include "daemon/limits.h"
#include "daemon/logging.h"
#include "daemon/metrics.h"
#include "daemon/report_service.h"
#include "daemon/services.h"
#include "daemon/status.h"
#include "daemon/streams.h"
#include "daemon/tls.h"
#include "daemon/web.h"
#include "daemon/web_events.h"
#include "hotline/v1/admin.grpc.pb.h"

namespace hotline::daemon {

namespace {

using v1::AdminService;
using v1::DeskService;
using v1::GatewayService;
using v1::SupervisorService;

using AdminAsync = AdminService::AsyncService;

// Nothing the HTTP port serves takes a request body: a request that is not GET or HEAD, or that
// says it carries a body, is answered 405 or 413 (with Connection: close) and true is returned.
bool RefuseHttpBody(const httplib::Request& req, httplib::Response& res) {
  if (req.method != "GET" && req.method != "HEAD") {
    res.status = 405;
    res.set_header("Allow", "GET, HEAD");
    res.set_content("method: only GET and HEAD are served here\n", "text/plain");
  } else if (req.has_header("Transfer-Encoding") ||
             (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0")) {
    res.status = 413;
    res.set_content("request body: none is accepted here (Content-Length, Transfer-Encoding)\n",
                    "text/plain");
  } else {
    return false;
  }
  res.set_header("Connection", "close");
  return true;
}

// Holds `<database>.lock` locked for the daemon's lifetime, so a second hotlined on the same
// database refuses to start instead of writing beside the first (their journal seqs would
// collide, and SQLite 3.40 has a WAL-reset bug with two writing connections: DESIGN.md §5).
// flock() locks belong to the open file: the kernel drops them when the process ends, even by
// kill -9, so a lock file left behind never blocks a restart. The file is 0600 and holds the
// holder's pid, for the refusal message. It is never deleted: unlinking a lock file races with a
// daemon that has just opened it and is about to lock it.
class DatabaseLock {
 public:
  // Errors: FAILED_PRECONDITION when another process holds the lock, naming its pid, the
  // database and the lock file; UNAVAILABLE when the lock file cannot be opened or written.
  // The lock file is beside the database's real path (symlinks resolved, as SQLite resolves them
  // for its own files), so a second daemon reaching the same file by another name still finds
  // it locked. A database with hard links is refused (OneNameOnly, data_files.h).
  static absl::StatusOr<std::unique_ptr<DatabaseLock>> Acquire(const std::string& database) {
    std::error_code error;
    const std::filesystem::path real = std::filesystem::weakly_canonical(database, error);
    const std::string path = (error ? database : real.string()) + ".lock";
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
      return absl::UnavailableError(absl::StrCat("cannot open the lock file '", path,
                                                 "' of the database: ", std::strerror(errno)));
    }
    auto lock = std::make_unique<DatabaseLock>(fd);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK) {
        return absl::UnavailableError(
            absl::StrCat("cannot lock '", path, "': ", std::strerror(errno)));
      }
      const std::string holder = lock->Holder();
      return absl::FailedPreconditionError(
          absl::StrCat("the database '", database, "' is in use by another hotlined (pid ",
                       holder.empty() ? "unknown" : holder, ", which holds the lock '", path,
                       "'); one database has one daemon"));
    }
    const std::string pid = absl::StrCat(getpid(), "\n");
    if (fchmod(fd, 0600) != 0 || ftruncate(fd, 0) != 0 ||
        pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
      return absl::UnavailableError(
          absl::StrCat("cannot write the lock file '", path, "': ", std::strerror(errno)));
    }
    if (absl::Status s = OneNameOnly(error ? database : real.string(), database); !s.ok()) {
      return s;
    }
    return lock;
  }

  // Owns `fd`, an open lock file (locked or not).
  explicit DatabaseLock(int fd) : fd_(fd) {}
  DatabaseLock(const DatabaseLock&) = delete;
  DatabaseLock& operator=(const DatabaseLock&) = delete;
  ~DatabaseLock() { close(fd_); }  // Releases the lock.

 private:
  // The pid the holder wrote, or empty (it may not have written it yet).
  std::string Holder() const {
    char buffer[32] = {};
    const ssize_t n = pread(fd_, buffer, sizeof(buffer) - 1, 0);
    std::string pid;
    for (ssize_t i = 0; i < n && buffer[i] >= '0' && buffer[i] <= '9'; ++i) {
      pid.push_back(buffer[i]);
    }
    return pid;
  }

  const int fd_;
};

class DaemonImpl final : public Daemon {
 public:
  DaemonImpl(const Config& config, FatalHandler on_fatal, std::shared_ptr<TimeSource> time)
      : config_(config),
        on_fatal_(std::move(on_fatal)),
        time_(time != nullptr ? std::move(time) : std::make_shared<RealTimeSource>()) {}

  ~DaemonImpl() override { Shutdown(); }

  absl::Status Init(const SinkWrapper& wrap_sink) {
    // Before anything is opened: the config file was checked, but a command-line override or an
    // embedding program's Config was not.
    for (const auto& [value, key] : {std::pair{&config_.grpc_listen, "grpc_listen"},
                                     std::pair{&config_.http_listen, "http_listen"}}) {
      if (auto parsed = ParseHostPort(*value, key); !parsed.ok()) {
        return parsed.status();
      }
    }
    // Plaintext only on loopback unless told otherwise (tls.h), and the [tls] keys consistent.
    if (absl::Status s = CheckTlsConfig(config_.tls); !s.ok()) {
      return s;
    }
    if (absl::Status s = CheckPlaintextListeners(config_); !s.ok()) {
      return s;
    }
    // The certificate files, before anything is opened: a bad file fails the start, naming it.
    auto grpc_credentials = GrpcServerCredentials(config_.tls);
    if (!grpc_credentials.ok()) {
      return grpc_credentials.status();
    }
    if (config_.tls.enabled()) {
      auto http_certificate = HttpCertificate::Load(config_.tls);
      if (!http_certificate.ok()) {
        return http_certificate.status();
      }
      http_certificate_ = std::move(*http_certificate);
    }
    // The config file's tokens against the binds (accounts.h): dev, weak or shared-gateway
    // tokens are refused on a reachable bind, before anything is created.
    if (absl::Status s = CheckConfigTokens(config_); !s.ok()) {
      return s;
    }
    WarnAboutConfigTokens(config_);
    // The directories first (the lock file lives beside the database), all private.
    if (absl::Status s = PrepareDataFiles(config_); !s.ok()) {
      return s;
    }
    // Then, before the database is opened or migrated, or the caller key created, the lock.
    if (config_.database != ":memory:") {
      auto lock = DatabaseLock::Acquire(config_.database);
      if (!lock.ok()) {
        return lock.status();
      }
      database_lock_ = std::move(*lock);
    }
    auto store = storage::Store::Open(config_.database, {.synchronous = config_.synchronous});
    if (!store.ok()) {
      return store.status();
    }
    store_ = std::move(*store);
    // The database says which key its callers were keyed with.
    auto keyer = OpenCallerKey(config_, *store_);
    if (!keyer.ok()) {
      return keyer.status();
    }
    keyer_ = std::move(*keyer);
    auto sealer = OpenCallbackKey(config_, *store_);
    if (!sealer.ok()) {
      return sealer.status();
    }
    sealer_ = std::move(*sealer);
    storage::Sink* sink = store_.get();
    if (wrap_sink) {
      wrapped_sink_ = wrap_sink(*store_);
      sink = wrapped_sink_.get();
    }
    accounts_ = std::make_unique<Accounts>(config_);
    if (auto stored = store_->LoadAccounts(); !stored.ok()) {
      return stored.status();
    } else {
      accounts_->Load(*stored);
    }
    writer_ = std::make_unique<Writer>(
        *sink, [this](bool healthy) { OnStoreHealth(healthy); },
        [this](const absl::Status& why) { OnWriterFatal(why); }, WriterOptions{}, &metrics_);
    host_ = std::make_unique<EngineHost>(config_, io_, *store_, *writer_, *keyer_, *time_,
                                         &metrics_);
    host_->SetCallbackSealer(sealer_.get());
    if (absl::Status s = host_->Recover(); !s.ok()) {
      return s;
    }
    recovered_digest_ = host_->recovered_digest();
    engine_thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "hl-engine");  // For top -H, perf and the benchmarks.
      io_.run();
    });

    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    // Our own health service (health_service.h) and never gRPC's default, whatever another
    // part of the process enabled: a null interface turns the default off.
    builder.SetOption(std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(nullptr));
    builder.RegisterService(health_service_.service());
    // gRPC sets SO_REUSEPORT by default: a second daemon on this port would start beside us and
    // share the connections. Without it the bind fails and BuildAndStart returns null.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    AddGrpcLimits(builder);
    builder.AddListeningPort(config_.grpc_listen, *grpc_credentials, &grpc_port_);
    builder.RegisterService(&gateway_);
    builder.RegisterService(&desk_);
    builder.RegisterService(&supervisor_);
    builder.RegisterService(&admin_);
    cq_ = builder.AddCompletionQueue();
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || grpc_port_ == 0) {
      return absl::UnavailableError(absl::StrCat("cannot listen for gRPC on '", config_.grpc_listen,
                                                 "': the port is taken or the address is not "
                                                 "this machine's"));
    }
    {
      // From here on the writer's health reports reach the health service. writer_->healthy() is
      // read under the lock: a change the writer makes meanwhile waits for it and lands after.
      std::lock_guard lock(health_mu_);
      health_ = &health_service_;
      health_->SetServing(writer_->healthy());
    }
    const Services services{config_, *host_, cq_.get(), metrics_, *accounts_, peers_};
    ServeGateway(gateway_, services);
    ServeDesk(desk_, services);
    ServeSupervisor(supervisor_, services);
    reports_ = ServeReports(supervisor_, services);
    shift_figures_ = ServeShiftFigures(desk_, services);
    ServeAdmin(admin_, services);
    health_service_.Serve(cq_.get());
    cq_thread_ = std::make_unique<rpc::QueueThread>(cq_.get(), &rate_);

    if (absl::Status s = StartHttp(); !s.ok()) {
      return s;
    }
    spdlog::info("hotlined serving gRPC on {} (port {}) and HTTP on {} (port {}), database {}",
                 config_.grpc_listen, grpc_port_, config_.http_listen, http_port_,
                 config_.database);
    for (const auto& [what, listen] : {std::pair{"gRPC", &config_.grpc_listen},
                                       std::pair{"HTTP", &config_.http_listen}}) {
      const std::string line = DescribeListener(config_, what, *listen);
      if (config_.tls.enabled() || IsLoopbackHost(ParseHostPort(*listen, what)->host)) {
        spdlog::info("{}", line);
      } else {
        spdlog::warn("{}", line);
      }
    }
    return absl::OkStatus();
  }

  bool healthy() const override { return writer_ != nullptr && writer_->healthy(); }

  std::string recovered_digest() const override { return recovered_digest_; }
  std::string shutdown_digest() const override { return shutdown_digest_; }

  absl::Status failure() const override {
    std::lock_guard lock(mu_);
    return failure_;
  }

  int grpc_port() const override { return grpc_port_; }
  int http_port() const override { return http_port_; }

  void Shutdown() override {
    if (stopped_.exchange(true)) {
      return;
    }
    spdlog::info("hotlined shutting down");
    if (web_views_) {
      web_views_->StopAll();  // The server waits for its workers; a page's stream holds one.
    }
    if (http_) {
      http_->stop();
    }
    if (http_thread_.joinable()) {
      http_thread_.join();
    }
    http_deadline_.reset();
    {
      // NOT_SERVING from now on: the writer's reports no longer reach the health service.
      std::lock_guard lock(health_mu_);
      if (health_ != nullptr) {
        health_->Shutdown();
        health_ = nullptr;
      }
    }
    if (server_) {
      // Everything handled so far written and acknowledged, then every stream told why it ends.
      // A writer stopped for good never answers the barrier: then there is nothing to wait for.
      // The barrier runs on the writer thread, which is joined below, before `this` goes.
      host_->Post([this](EngineHost& h) {
        h.SnapshotAtShutdown();
        h.Barrier([this] {
          {
            std::lock_guard lock(mu_);
            flushed_ = true;
          }
          flushed_or_failed_.notify_all();
        });
      });
      {
        std::unique_lock lock(mu_);
        if (!flushed_or_failed_.wait_for(lock, std::chrono::seconds(5),
                                         [this] { return flushed_ || !failure_.ok(); })) {
          spdlog::error(
              "the journal did not flush within 5 s; unwritten events stay unacknowledged");
        } else if (!failure_.ok()) {
          spdlog::error(
              "the journal writer stopped for good; unwritten events stay "
              "unacknowledged");
        }
      }
      host_->Post([](EngineHost& h) {
        h.CloseAll(grpc::Status(grpc::StatusCode::UNAVAILABLE, "hotlined is shutting down"));
      });
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    } else if (host_) {
      // Started no server (a port taken): still stop the engine's timers (the retention job's
      // re-arms itself), or its thread would never run out of work to join.
      host_->Post([](EngineHost& h) { h.CloseAll(grpc::Status::CANCELLED); });
    }
    // A report replies before the completion queue shuts down (gRPC refuses a reply after).
    reports_.reset();
    shift_figures_.reset();
    // The engine finishes every input already posted, then its thread ends.
    work_.reset();
    if (engine_thread_.joinable()) {
      engine_thread_.join();
    }
    if (writer_) {
      writer_->Stop(std::chrono::seconds(2));
    }
    if (host_) {
      // What recovery should rebuild from the journal; it logs its own digest to compare.
      shutdown_digest_ = host_->StateDigest();
      spdlog::info("state digest at shutdown: {}", shutdown_digest_);
    }
    // Last of the threads that start gRPC operations: the queue is shut down on its own thread,
    // which starts nothing after (rpc.h QueueThread), and drained.
    if (cq_thread_) {
      cq_thread_->Stop();
      cq_thread_.reset();
    } else if (cq_) {
      cq_->Shutdown();  // Nothing was served on it.
    }
    host_.reset();
    writer_.reset();
    wrapped_sink_.reset();
    store_.reset();          // Closes the database.
    database_lock_.reset();  // Last: another daemon may open the database now.
  }

 private:
  void OnWriterFatal(const absl::Status& why) {
    {
      std::lock_guard lock(mu_);
      failure_ = why;
    }
    flushed_or_failed_.notify_all();  // A Shutdown waiting for the flush need not wait.
    if (on_fatal_) {
      on_fatal_(why);
    }
  }

  // On the writer thread, which starts before the gRPC server exists (recovery writes), so it
  // must not read server_, which Init assigns on its own thread.
  void OnStoreHealth(bool healthy) {
    // Gateways and load balancers see it on the health service and /healthz.
    std::lock_guard lock(health_mu_);
    if (health_ != nullptr) {
      health_->SetServing(healthy);
    }
  }

  // What gRPC itself bounds ([limits]; docs/limits.md). gRPC 1.51 has no per-peer connection
  // limit: idle and half-open connections are bounded in time by the two timeouts below, and
  // long-lived streams per peer by PeerStreams.
  void AddGrpcLimits(grpc::ServerBuilder& builder) {
    const Limits& l = config_.limits;
    builder.SetMaxReceiveMessageSize(static_cast<int>(l.max_message_bytes));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                               static_cast<int>(l.max_streams_per_connection));
    builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                               static_cast<int>(l.handshake_timeout_ms));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                               static_cast<int>(l.idle_connection_ms));
    // A peer whose network went silent is found by an unanswered ping (gRPC's default is two
    // hours) after keepalive_ms of silence, idle streams included: pings go on without data
    // between them. gRPC also sets keepalive_timeout_ms as the sockets' TCP_USER_TIMEOUT.
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(l.keepalive_ms));
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                               static_cast<int>(l.keepalive_timeout_ms));
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    // The clients ping as well (clients/common/client.cc: every 20 s): accepted down to every 10 s,
    // where gRPC's default (5 min) would answer them with GOAWAY "too_many_pings".
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10'000);
    grpc::ResourceQuota quota("hotlined");
    quota.Resize(static_cast<size_t>(l.grpc_memory_bytes));
    builder.SetResourceQuota(quota);
  }

  // --- HTTP. ---

  absl::Status StartHttp() {
    auto listen = ParseHostPort(config_.http_listen, "http_listen");
    if (!listen.ok()) {
      return listen.status();
    }
    const auto& [host, port] = *listen;
    if (http_certificate_ != nullptr) {
      // The certificate answers each handshake itself, so a replaced file is served without a
      // restart (tls.h HttpCertificate).
      auto https = std::make_unique<httplib::SSLServer>(
          [this](SSL_CTX& ctx) { return http_certificate_->Install(ctx); });
      if (!https->is_valid()) {
        return absl::InvalidArgumentError(
            absl::StrCat("tls.cert_file: cannot serve HTTPS with '", config_.tls.cert_file, "'"));
      }
      http_ = std::move(https);
    } else {
      http_ = std::make_unique<httplib::Server>();
    }
    // cpp-httplib's default sets SO_REUSEPORT, which lets a second daemon bind this port too.
    // SO_REUSEADDR alone still allows a quick restart over connections in TIME_WAIT.
    http_->set_socket_options([](socket_t sock) {
      const int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    web_views_ = std::make_unique<WebViews>(config_, *host_, *accounts_);
    // A fixed pool: a slow client holds one worker until a read stalls for http_io_timeout_ms
    // (docs/limits.md); the live pages are capped below the pool, so short requests (/healthz)
    // always find workers the pages cannot take.
    http_->new_task_queue = [n = std::max<size_t>(web_views_->threads(),
                                                  static_cast<size_t>(
                                                      config_.limits.http_workers))] {
      return new httplib::ThreadPool(n);
    };
    const auto io = std::chrono::milliseconds(config_.limits.http_io_timeout_ms);
    const auto io_s = std::chrono::duration_cast<std::chrono::seconds>(io);
    const auto io_us = std::chrono::duration_cast<std::chrono::microseconds>(io - io_s);
    http_->set_read_timeout(io_s.count(), io_us.count());
    http_->set_write_timeout(io_s.count(), io_us.count());
    http_->set_keep_alive_timeout(std::max<time_t>(1, io_s.count()));
    http_->set_payload_max_length(64 * 1024);  // Nothing hotlined serves takes a body.
    // The header deadline (limits.h HttpHeaderDeadline) learns which connections are being
    // answered; it exists from before the listener runs until after it stopped.
    http_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      http_deadline_->Started(req.remote_addr, req.remote_port);
      if (RefuseHttpBody(req, res)) {
        // Answered before cpp-httplib reads the body (a chunked one, or one without a length,
        // it would read without limit). What the client sends after the headers is then read
        // as further requests, each refused or 400 and bounded by the header bound, until
        // cpp-httplib's keep-alive limit (5 requests) closes the connection.
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    http_->set_logger([this](const httplib::Request& req, const httplib::Response&) {
      http_deadline_->Finished(req.remote_addr, req.remote_port);
    });
    web_views_->Register(*http_);
    ServeWebAssets(*http_);  // The live view's page: /, /app.js, /style.css, ...
    http_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
      // Serving once start-up finished, while the journal is written, until shutdown begins.
      if (stopped_) {
        res.set_content("shutting down\n", "text/plain");
        res.status = 503;
      } else if (!writer_->healthy()) {
        res.set_content("storage failing: events are not being acknowledged\n", "text/plain");
        res.status = 503;
      } else {
        res.set_content("ok\n", "text/plain");
        res.status = 200;
      }
    });
    // No token: it holds no personal data, only counts and latencies (metrics.h), and a
    // Prometheus server scrapes it as a load balancer probes /healthz.
    http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      metrics_.SetStorageServing(writer_->healthy());  // What /healthz reads.
      metrics_.SetStorageLockWaits(static_cast<uint64_t>(store_->busy_waits()));
      metrics_.SetLogLinesDropped(LogLinesDropped());
      // The waiting calls and counsellors as the engine thread counts them now (cheap: no walk
      // of the waiting calls), one count at a time however many scrapes come; a scrape meanwhile,
      // or while the engine is busy for over a second, gets the last counts.
      if (!metrics_counting_.exchange(true)) {
        auto counted = std::make_shared<std::promise<void>>();
        host_->CountForMetrics([this, counted] {
          metrics_counting_ = false;
          counted->set_value();
        });
        counted->get_future().wait_for(std::chrono::seconds(1));
      }
      res.set_content(metrics_.Render(), prometheus::kContentType);
    });
    if (port == 0) {
      http_port_ = http_->bind_to_any_port(host);
    } else {
      http_port_ = http_->bind_to_port(host, port) ? port : -1;
    }
    if (http_port_ <= 0) {
      return absl::UnavailableError(absl::StrCat("cannot listen for HTTP on '", config_.http_listen,
                                                 "': the port is taken or the address is not "
                                                 "this machine's"));
    }
    http_deadline_ = std::make_unique<HttpHeaderDeadline>(
        http_port_, std::chrono::milliseconds(config_.limits.http_header_timeout_ms));
    http_thread_ = std::thread([this] {
      http_->listen_after_bind();
      http_exited_ = true;
    });
    // cpp-httplib's stop() does nothing until the listener is running, so a Shutdown() right
    // after start would wait on a listener nobody stops: start-up returns only once it runs.
    while (!http_->is_running() && !http_exited_) {
      std::this_thread::yield();
    }
    if (!http_->is_running()) {
      return absl::UnavailableError(
          absl::StrCat("the HTTP listener on '", config_.http_listen, "' stopped at once"));
    }
    return absl::OkStatus();
  }

  const Config config_;
  const FatalHandler on_fatal_;
  // Shared with the test that injected it, which moves it from its own thread.
  std::shared_ptr<TimeSource> time_;
  std::unique_ptr<DatabaseLock> database_lock_;
  // std::mutex rather than absl::Mutex here: Debian's Abseil is not built for ThreadSanitizer,
  // which then cannot see an absl::Mutex order anything, and a -DHOTLINE_SANITIZE=thread build
  // would report every access below as a race.
  mutable std::mutex mu_;
  std::condition_variable flushed_or_failed_;
  // The shutdown barrier was answered: everything handled before it is written and acknowledged.
  bool flushed_ = false;  // Guarded by mu_.
  // Why the journal writer stopped for good; OK while it runs.
  absl::Status failure_;  // Guarded by mu_.
  // Before everything that reports to it, so it outlives them.
  Metrics metrics_;
  // Whether the engine is counting for /metrics.
  std::atomic<bool> metrics_counting_ = false;
  std::unique_ptr<CallerKeyer> keyer_;
  std::unique_ptr<CallbackSealer> sealer_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Accounts> accounts_;  // Outlives the servers that read it.
  std::unique_ptr<storage::Sink> wrapped_sink_;
  std::unique_ptr<Writer> writer_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::unique_ptr<EngineHost> host_;
  std::thread engine_thread_;

  GatewayAsyncService gateway_;
  DeskService::AsyncService desk_;
  SupervisorService::AsyncService supervisor_;
  AdminAsync admin_;
  HealthService health_service_;  // grpc.health.v1.Health, on cq_ (health_service.h).
  std::unique_ptr<grpc::ServerCompletionQueue> cq_;
  std::unique_ptr<grpc::Server> server_;
  // The report thread of Report and ExportDispositions; stopped in Shutdown.
  std::unique_ptr<Reports> reports_;
  std::unique_ptr<Reports> shift_figures_;
  // health_service_, once the server is built, until Shutdown begins. The writer
  // thread's reports and Init's first status go through it under health_mu_ (a std::mutex, as
  // mu_ is).
  std::mutex health_mu_;
  HealthService* health_ = nullptr;  // Guarded by health_mu_.
  std::unique_ptr<rpc::QueueThread> cq_thread_;  // Drives cq_; stopped in Shutdown.
  int grpc_port_ = 0;
  // [limits]: streams per peer (the services count them) and unary requests per credential
  // (admitted on the completion-queue thread).
  PeerStreams peers_{config_.limits};
  RateLimiter rate_{config_.limits, time_.get()};

  // The HTTPS certificate, when TLS is on; before http_, whose SSL_CTX calls it.
  std::unique_ptr<HttpCertificate> http_certificate_;
  // Before http_: its pages' streams end after the server's workers.
  std::unique_ptr<WebViews> web_views_;
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<HttpHeaderDeadline> http_deadline_;
  std::thread http_thread_;
  std::atomic<bool> http_exited_ = false;
  int http_port_ = 0;
  std::atomic<bool> stopped_ = false;
  std::string recovered_digest_;  // Set in Init, before any other thread reads it.
  std::string shutdown_digest_;   // Set in Shutdown.
};

}  // namespace

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(const Config& config, SinkWrapper wrap_sink,
                                                      FatalHandler on_fatal,
                                                      std::shared_ptr<TimeSource> time) {
  // A fixed bar for mapping blocks from the system (1 MB), which turns glibc's moving bars off.
  // glibc starts at 128 KB for mapping and at 128 KB of free memory at the top of a heap for
  // giving it back, but after freeing a large mapped block (a snapshot of a long queue is
  // megabytes) it raises the first to that block's size and the second to twice that, so the
  // memory of later snapshots stayed resident. Now a heap's free top above 128 KB keeps going
  // back to the system: memory_bench's resident set per waiting call 1,140 -> 984-996 bytes at
  // 20,000, with no change in the daemon's CPU per event at max load (docs/performance.md,
  // "Large blocks given back"). Process-wide, and the same for every daemon the process starts.
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(kMapLargeBlocksFrom));
  auto daemon = std::make_unique<DaemonImpl>(config, std::move(on_fatal), std::move(time));
  if (absl::Status s = daemon->Init(wrap_sink); !s.ok()) {
    daemon->Shutdown();
    return s;
  }
  return daemon;
}

}  // namespace hotline::daemon
