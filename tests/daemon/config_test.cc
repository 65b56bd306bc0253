// Unit tests of the daemon's config reader and caller privacy helpers.
#include "daemon/config.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "daemon/callback_key.h"
#include "daemon/caller_key.h"
#include "tests/testing/daemon_fixture.h"

namespace hotline::daemon {
namespace {

TEST_CASE("the shipped config file loads with the documented defaults", "[daemon]") {
  auto config = LoadConfig(std::string(HOTLINE_SOURCE_DIR) + "/deploy/hotline.toml");
  INFO(config.status().ToString());
  REQUIRE(config.ok());
  CHECK(config->grpc_listen == "127.0.0.1:50051");
  CHECK(config->http_listen == "127.0.0.1:8080");
  CHECK(config->database == "var/hotline.db");
  // Apart from the database: a copy of both gives callers' numbers back.
  CHECK(config->caller_key_file == "var/keys/caller.key");
  CHECK(Config().caller_key_file == config->caller_key_file);
  CHECK(config->engine.offer_timeout_ms == routing::Millis(15'000));
  CHECK(config->engine.max_wait_ms == routing::Millis(300'000));
  CHECK(config->engine.connect_timeout_ms == routing::Millis(60'000));
  CHECK(
      ParseConfig("[routing]\nconnect_timeout_ms = 2500\n", "h.toml")->engine.connect_timeout_ms ==
      routing::Millis(2'500));
  CHECK(config->gateway_token == "dev-gateway-token");
}

TEST_CASE("a config error names the file, the line and the key", "[daemon]") {
  auto typo = ParseConfig("[routing]\n\nofer_timeout_ms = 5\n", "h.toml");
  REQUIRE(typo.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(typo.status().message()),
             Catch::Contains("h.toml:3") && Catch::Contains("routing.ofer_timeout_ms"));

  auto range = ParseConfig("[routing]\nwrap_up_ms = -4\n", "h.toml");
  CHECK_THAT(std::string(range.status().message()),
             Catch::Contains("h.toml:2") && Catch::Contains("routing.wrap_up_ms"));

  // A value outside its choices too (a black-box check: this one named no line).
  auto choice = ParseConfig("[storage]\n\nsynchronous = \"OFF\"\n", "h.toml");
  CHECK(std::string(choice.status().message()) ==
        "h.toml:3: 'storage.synchronous' must be \"NORMAL\" or \"FULL\"");

  auto type = ParseConfig("[server]\ngrpc_listen = 50051\n", "h.toml");
  CHECK_THAT(std::string(type.status().message()), Catch::Contains("must be a string"));

  auto syntax = ParseConfig("[server\n", "h.toml");
  CHECK(syntax.status().code() == absl::StatusCode::kInvalidArgument);

  CHECK(LoadConfig("/nonexistent/hotline.toml").status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("a snapshot may be taken after every journal record, and no less often than never",
          "[daemon]") {
  // Tiny intervals are how snapshots are tested across kills: 1 is a setting, not an error.
  for (const int64_t every : {1, 2, 100, 100'000'000}) {
    auto config =
        ParseConfig(absl::StrCat("[storage]\nsnapshot_every_records = ", every, "\n"), "h.toml");
    INFO(every << ": " << config.status().ToString());
    REQUIRE(config.ok());
    CHECK(config->snapshot_every_records == every);
  }
  for (const int64_t every : {int64_t{0}, int64_t{-1}, int64_t{100'000'001}}) {
    auto config =
        ParseConfig(absl::StrCat("[storage]\nsnapshot_every_records = ", every, "\n"), "h.toml");
    INFO(every);
    REQUIRE(config.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(config.status().message()),
               Catch::Contains("h.toml:2") && Catch::Contains("storage.snapshot_every_records"));
  }
}

TEST_CASE("a listen port outside 0-65535 is refused naming the file, the line and the key",
          "[daemon]") {
  // Defect: "127.0.0.1:99999" was accepted, and the HTTP server bound port 99999 mod 65536.
  for (const char* port : {"99999", "65536", "-1", "80x", "+80", " 80", "", "1000000000000"}) {
    auto config = ParseConfig(
        absl::StrCat("[server]\n\nhttp_listen = \"127.0.0.1:", port, "\"\n"), "h.toml");
    INFO(port);
    REQUIRE(config.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(config.status().message()),
               Catch::StartsWith("h.toml:3: server.http_listen: port '"));
  }
  CHECK_THAT(std::string(ParseConfig("[server]\ngrpc_listen = \"localhost\"\n", "h.toml")
                             .status()
                             .message()),
             Catch::Contains("server.grpc_listen: 'localhost' is not host:port"));
  auto fine = ParseConfig("[server]\ngrpc_listen = \"0.0.0.0:65535\"\nhttp_listen = \"[::1]:0\"\n",
                          "h.toml");
  INFO(fine.status().ToString());
  CHECK(fine.ok());
}

TEST_CASE("retention periods and the callback key have defaults and are read from the file",
          "[daemon][privacy]") {
  auto shipped = LoadConfig(std::string(HOTLINE_SOURCE_DIR) + "/deploy/hotline.toml");
  REQUIRE(shipped.ok());
  // The shipped file states the built-in defaults.
  CHECK(shipped->retention.callers_days == Config().retention.callers_days);
  CHECK(shipped->retention.notes_days == Config().retention.notes_days);
  CHECK(shipped->retention.callback_days == 7);
  CHECK(shipped->retention.audit_days == Config().retention.audit_days);
  CHECK(shipped->retention.history_days == Config().retention.history_days);
  CHECK(shipped->retention.run_every_minutes == 60);
  CHECK(CallbackKeyFile(*shipped) == "var/keys/callback.key");

  auto set = ParseConfig(
      "[retention]\ncallers_days = 30\nnotes_days = 60\ncallback_days = 2\naudit_days = 400\n"
      "history_days = 100\nrun_every_minutes = 5\n[security]\ncallback_key_file = \"/k/cb\"\n",
      "h.toml");
  REQUIRE(set.ok());
  CHECK(set->retention.callers_days == 30);
  CHECK(set->retention.notes_days == 60);
  CHECK(set->retention.callback_days == 2);
  CHECK(set->retention.audit_days == 400);
  CHECK(set->retention.history_days == 100);
  CHECK(set->retention.run_every_minutes == 5);
  CHECK(CallbackKeyFile(*set) == "/k/cb");

  auto zero = ParseConfig("[retention]\n\ncallback_days = 0\n", "h.toml");
  REQUIRE(zero.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(zero.status().message()),
             Catch::Contains("h.toml:3") && Catch::Contains("retention.callback_days"));
  auto typo = ParseConfig("[retention]\nnote_days = 3\n", "h.toml");
  CHECK_THAT(std::string(typo.status().message()), Catch::Contains("retention.note_days"));
}

TEST_CASE("a callback number is sealed differently each time and opens only with its key",
          "[daemon][privacy]") {
  KeyBytes key{};
  key.fill(7);
  KeyBytes other{};
  other.fill(8);
  const CallbackSealer sealer(key);
  const std::string a = sealer.Seal("+84912345667");
  const std::string b = sealer.Seal("+84912345667");
  CHECK(a != b);
  CHECK(a.find("912345667") == std::string::npos);
  CHECK(*sealer.Open(a) == "+84912345667");
  CHECK(*sealer.Open(b) == "+84912345667");
  CHECK(CallbackSealer(other).Open(a).status().code() == absl::StatusCode::kDataLoss);
  std::string altered = a;
  altered.back() ^= 1;
  CHECK(sealer.Open(altered).status().code() == absl::StatusCode::kDataLoss);
  CHECK(sealer.Open("short").status().code() == absl::StatusCode::kDataLoss);
  CHECK(sealer.Fingerprint() != CallbackSealer(other).Fingerprint());
  CHECK(sealer.Fingerprint() == CallbackSealer(key).Fingerprint());
}

TEST_CASE("seals draw their nonces from a pool, each once, across refills", "[daemon][privacy]") {
  KeyBytes key{};
  key.fill(7);
  const CallbackSealer sealer(key);
  const CallbackSealer restarted(key);  // The same key after a restart: a pool of its own.
  constexpr size_t kNonceBytes = 24;    // crypto_secretbox_NONCEBYTES
  const size_t per_pool = CallbackSealer::kNoncePoolBytes / kNonceBytes;
  std::set<std::string> nonces;
  for (size_t i = 0; i < 3 * per_pool + 1; ++i) {  // Three refills, and one seal into a fourth.
    for (const CallbackSealer* s : {&sealer, &restarted}) {
      const std::string sealed = s->Seal("+84912345667");
      REQUIRE(*s->Open(sealed) == "+84912345667");
      CHECK(nonces.insert(sealed.substr(0, kNonceBytes)).second);
    }
  }
  CHECK(nonces.size() == 2 * (3 * per_pool + 1));
}

TEST_CASE("caller numbers are masked to their last two digits", "[daemon]") {
  CHECK(CallerKeyer::Mask("+84912345678") == "**********78");
  CHECK(CallerKeyer::Mask("7") == "7");
}

TEST_CASE("the caller key is created private, never overwritten, and keys a stable hash",
          "[daemon]") {
  testing::TempDir dir;
  const std::string path = (dir.path() / "caller.key").string();
  CHECK(CallerKeyer::Load(path).status().code() == absl::StatusCode::kNotFound);
  auto first = CallerKeyer::Create(path);
  REQUIRE(first.ok());
  CHECK(std::filesystem::status(path).permissions() ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  CHECK(CallerKeyer::Create(path).status().code() == absl::StatusCode::kAlreadyExists);
  auto again = CallerKeyer::Load(path);
  REQUIRE(again.ok());
  const std::string key = (*first)->Key("+84912345678");
  CHECK(key.size() == 64);
  CHECK(key == (*again)->Key("+84912345678"));
  CHECK(key != (*again)->Key("+84912345679"));
  CHECK((*first)->Fingerprint() == (*again)->Fingerprint());
  // Another key gives another hash and another fingerprint: without the key file the hash
  // cannot be checked.
  testing::TempDir other;
  auto foreign = CallerKeyer::Create((other.path() / "caller.key").string());
  REQUIRE(foreign.ok());
  CHECK((*foreign)->Key("+84912345678") != key);
  CHECK((*foreign)->Fingerprint() != (*first)->Fingerprint());
}

TEST_CASE("a caller key file of the wrong size is refused", "[daemon]") {
  testing::TempDir dir;
  const std::string path = (dir.path() / "caller.key").string();
  std::ofstream(path) << "short";
  CHECK(CallerKeyer::Load(path).status().code() == absl::StatusCode::kInvalidArgument);
  std::ofstream(path) << std::string(CallerKeyer::kKeyBytes + 1, 'k');
  CHECK(CallerKeyer::Load(path).status().code() == absl::StatusCode::kInvalidArgument);
}

int Entries(const std::filesystem::path& dir) {
  return static_cast<int>(std::distance(std::filesystem::directory_iterator(dir),
                                        std::filesystem::directory_iterator()));
}

TEST_CASE("a process killed while it creates a key file leaves no short key behind", "[daemon]") {
  testing::TempDir dir;
  const std::string path = (dir.path() / "caller.key").string();
  // A real kill -9, in a child, once the key file is open and before its bytes are written.
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    (void)CreateKeyFile(path, "caller key", [] { kill(getpid(), SIGKILL); });
    _exit(0);  // Not reached.
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(WTERMSIG(status) == SIGKILL);
  // The next start finds no key and creates one, as on a new machine; an empty file under the
  // key's name would have refused it ("must hold exactly 32 bytes").
  CHECK(ReadKeyFile(path, "caller key").status().code() == absl::StatusCode::kNotFound);
  const int killed_left = Entries(dir.path());
  auto created = CallerKeyer::Create(path);
  REQUIRE(created.ok());
  auto loaded = CallerKeyer::Load(path);
  REQUIRE(loaded.ok());
  CHECK((*loaded)->Fingerprint() == (*created)->Fingerprint());
  // Making it left nothing else beside it (the killed child may have, where there is no
  // O_TMPFILE: docs/security.md).
  CHECK(Entries(dir.path()) == killed_left + 1);
  const auto owner_only = std::filesystem::perms::owner_read | std::filesystem::perms::owner_write;
  CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::all) == owner_only);
  // A key that exists is never overwritten.
  CHECK(CreateKeyFile(path, "caller key").status().code() == absl::StatusCode::kAlreadyExists);
  CHECK((*CallerKeyer::Load(path))->Fingerprint() == (*created)->Fingerprint());
}

TEST_CASE("the tls section is read and its keys must agree", "[daemon]") {
  auto shipped = LoadConfig(std::string(HOTLINE_SOURCE_DIR) + "/deploy/hotline.toml");
  REQUIRE(shipped.ok());
  CHECK_FALSE(shipped->tls.enabled());
  CHECK(shipped->tls.reload_interval_s == 60);
  CHECK_FALSE(shipped->tls.allow_plaintext_public);
  CHECK_FALSE(shipped->tls.require_client_certificate);

  auto full = ParseConfig(
      "[tls]\ncert_file = \"s.crt\"\nkey_file = \"s.key\"\nclient_ca_file = \"ca.crt\"\n"
      "require_client_certificate = true\nreload_interval_s = 5\nallow_plaintext_public = true\n"
      "require_client_certificate_for = [\"gw-a\", \"gw-b\"]\n",
      "h.toml");
  INFO(full.status().ToString());
  REQUIRE(full.ok());
  CHECK(full->tls.enabled());
  CHECK(full->tls.cert_file == "s.crt");
  CHECK(full->tls.key_file == "s.key");
  CHECK(full->tls.client_ca_file == "ca.crt");
  CHECK(full->tls.require_client_certificate);
  CHECK(full->tls.reload_interval_s == 5);
  CHECK(full->tls.allow_plaintext_public);
  CHECK(full->tls.require_client_certificate_for == std::vector<std::string>{"gw-a", "gw-b"});
  CHECK(shipped->tls.require_client_certificate_for.empty());

  const std::pair<const char*, const char*> refused[] = {
      {"cert_file = \"s.crt\"\n", "'tls.cert_file' and 'tls.key_file' go together"},
      {"key_file = \"s.key\"\n", "'tls.cert_file' and 'tls.key_file' go together"},
      {"client_ca_file = \"ca.crt\"\n", "'tls.client_ca_file' needs TLS"},
      {"cert_file = \"s.crt\"\nkey_file = \"s.key\"\nrequire_client_certificate = true\n",
       "'tls.require_client_certificate' needs 'tls.client_ca_file'"},
      {"cert_file = \"s.crt\"\nkey_file = \"s.key\"\nrequire_client_certificate_for = [\"gw\"]\n",
       "'tls.require_client_certificate_for' needs 'tls.client_ca_file'"},
      {"require_client_certificate_for = \"gw-a\"\n",
       "'tls.require_client_certificate_for' must be an array of at most 10000 non-empty strings"},
      {"require_client_certificate_for = [\"gw-a\", 3]\n",
       "'tls.require_client_certificate_for' must be an array"},
      {"require_client_certificate_for = [\"\"]\n",
       "'tls.require_client_certificate_for' must be an array"},
      {"reload_interval_s = 0\n", "'tls.reload_interval_s' must be an integer from 1"},
      {"allow_plaintext_public = \"yes\"\n", "'tls.allow_plaintext_public' must be true or false"},
      {"cert_fle = \"s.crt\"\n", "unknown key 'tls.cert_fle'"},
  };
  for (const auto& [text, message] : refused) {
    auto config = ParseConfig(std::string("[tls]\n") + text, "h.toml");
    INFO(text);
    REQUIRE(config.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(config.status().message()),
               Catch::StartsWith("h.toml") && Catch::Contains(message));
  }
}

}  // namespace
}  // namespace hotline::daemon
