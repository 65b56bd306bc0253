// Children's data on disk (DESIGN.md §6), in-process with real SQLite files: what hotlined
// creates is 0600 in directories it creates 0700, wider files are made private with a warning,
// and the caller key, kept apart from the database, must be the one the database was written
// with. children_data_test.sh searches the files and logs of real processes for the numbers.
#include <SQLiteCpp/SQLiteCpp.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>

#include "daemon/caller_key.h"
#include "tests/testing/daemon_fixture.h"

namespace hotline {
namespace {

namespace fs = std::filesystem;
using testing::DaemonFixture;
using testing::GatewayClient;
using testing::TempDir;

int ModeOf(const fs::path& path) {
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  return static_cast<int>(st.st_mode & 07777);
}

// The daemon's log lines while it lives, beside the usual output.
class CapturedLog {
 public:
  CapturedLog() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(text_)) {
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~CapturedLog() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  std::string text() const { return text_.str(); }

 private:
  std::ostringstream text_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

// Keeps the database and the key in directories the daemon has to create.
void NestedDirectories(daemon::Config& config) {
  const fs::path dir = fs::path(config.database).parent_path();
  config.database = (dir / "var" / "hotline.db").string();
  config.caller_key_file = (dir / "secrets" / "keys" / "caller.key").string();
}

// A call arrives and is acknowledged: the journal now holds its caller's key.
void OneCall(DaemonFixture& f, const std::string& caller) {
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  gw.Arrive("call-1", "38", v1::PRIORITY_NORMAL, caller);
  CHECK(gw.WaitForAck().code() == 0);
}

void Stop(DaemonFixture& f) {
  f.daemon->Shutdown();
  f.daemon.reset();
}

// The database recorded the fingerprint of the key in the key file.
void CheckFingerprintRecorded(const daemon::Config& config) {
  auto key = daemon::CallerKeyer::Load(config.caller_key_file);
  REQUIRE(key.ok());
  SQLite::Database raw(config.database, SQLite::OPEN_READONLY);
  CHECK(raw.execAndGet("SELECT fingerprint FROM caller_key").getString() ==
        (*key)->Fingerprint());
}

// Makes the database one from before the fingerprints (schema version 6), with its calls.
void ForgetFingerprint(const daemon::Config& config) {
  SQLite::Database raw(config.database, SQLite::OPEN_READWRITE);
  raw.exec("DELETE FROM caller_key");
}

TEST_CASE("the database, its WAL, shm and lock and the caller key are 0600 in 0700 directories",
          "[integration][privacy]") {
  DaemonFixture f(NestedDirectories);
  OneCall(f, "+84912345678");
  const std::string db = f.config.database;
  for (const std::string& file : {db, db + "-wal", db + "-shm", db + ".lock",
                                  f.config.caller_key_file}) {
    INFO(file);
    CHECK(ModeOf(file) == 0600);
  }
  const fs::path key_dir = fs::path(f.config.caller_key_file).parent_path();
  for (const fs::path& dir : {fs::path(db).parent_path(), key_dir, key_dir.parent_path()}) {
    INFO(dir);
    CHECK(ModeOf(dir) == 0700);
  }
}

TEST_CASE("files open to others are made 0600 with a warning, and a directory is left as it was",
          "[integration][privacy]") {
  DaemonFixture f;
  OneCall(f, "+84912345678");
  Stop(f);
  const std::string db = f.config.database;
  const fs::path dir = fs::path(db).parent_path();
  fs::permissions(dir, fs::perms(0755));
  for (const std::string& file : {db, db + ".lock", f.config.caller_key_file}) {
    fs::permissions(file, fs::perms(0644));
  }
  CapturedLog log;
  f.Start();
  for (const std::string& file : {db, db + ".lock", f.config.caller_key_file}) {
    INFO(file);
    CHECK(ModeOf(file) == 0600);
    CHECK_THAT(log.text(), Catch::Contains("'" + file + "' was open to other users (mode 0644)"));
  }
  // Not hotlined's to change: other things may live there. Named, with what to do.
  CHECK(ModeOf(dir) == 0755);
  CHECK_THAT(log.text(), Catch::Contains("the directory '" + dir.string()) &&
                             Catch::Contains("chmod 700"));
}

TEST_CASE("a fresh database creates the caller key and records its fingerprint, not the key",
          "[integration][privacy]") {
  DaemonFixture f;
  Stop(f);
  CheckFingerprintRecorded(f.config);
  // And the same key starts the same database again.
  f.Start();
}

TEST_CASE("a database whose caller key is missing or different is refused, saying what to do",
          "[integration][privacy]") {
  DaemonFixture f;
  OneCall(f, "+84912345678");
  Stop(f);
  const std::string key_file = f.config.caller_key_file;

  SECTION("missing") {
    fs::remove(key_file);
    const auto refused = daemon::Daemon::Start(f.config);
    REQUIRE(refused.status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK_THAT(std::string(refused.status().message()),
               Catch::Contains("'" + key_file + "' is missing") &&
                   Catch::Contains(f.config.database) && Catch::Contains("Restore the key file") &&
                   Catch::Contains("start a new one"));
    CHECK_FALSE(fs::exists(key_file));  // Not silently recreated.
  }
  SECTION("different") {
    fs::remove(key_file);
    REQUIRE(daemon::CallerKeyer::Create(key_file).ok());
    const auto refused = daemon::Daemon::Start(f.config);
    REQUIRE(refused.status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK_THAT(std::string(refused.status().message()),
               Catch::Contains("is not the key the database") && Catch::Contains(key_file) &&
                   Catch::Contains("Restore") && Catch::Contains("start a new one"));
  }
  SECTION("missing from a database of calls made before fingerprints were recorded") {
    ForgetFingerprint(f.config);
    fs::remove(key_file);
    const auto refused = daemon::Daemon::Start(f.config);
    REQUIRE(refused.status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK_THAT(std::string(refused.status().message()), Catch::Contains("is missing"));
    CHECK_FALSE(fs::exists(key_file));
  }
}

TEST_CASE("a database from before fingerprints adopts the key file it has, and records it",
          "[integration][privacy]") {
  DaemonFixture f;
  OneCall(f, "+84912345678");
  Stop(f);
  ForgetFingerprint(f.config);
  f.Start();
  Stop(f);
  CheckFingerprintRecorded(f.config);
}

TEST_CASE("a missing key names the key file an older build kept beside the database",
          "[integration][privacy]") {
  DaemonFixture f;
  OneCall(f, "+84912345678");
  Stop(f);
  const fs::path old = fs::path(f.config.database).parent_path() / "caller.key";
  fs::rename(f.config.caller_key_file, old);
  const auto refused = daemon::Daemon::Start(f.config);
  REQUIRE(refused.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(refused.status().message()),
             Catch::Contains("'" + old.string() + "' exists") &&
                 Catch::Contains("move it to '" + f.config.caller_key_file + "'"));
}

}  // namespace
}  // namespace hotline
