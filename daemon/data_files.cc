#include "daemon/data_files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace hotline::daemon {

namespace {

namespace fs = std::filesystem;

constexpr mode_t kPrivateDirectory = 0700;
// Any of these bits lets someone else than the owner at a file (or makes it executable).
constexpr mode_t kBeyondPrivateFile = 0177;

std::string Octal(mode_t mode) { return fmt::format("{:04o}", mode & 07777); }

std::string Errno() { return std::strerror(errno); }

// The directory holding `file`: "." for a bare file name.
fs::path DirectoryOf(const std::string& file) {
  const fs::path parent = fs::path(file).parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

// Creates `dir` and its missing parents, each 0700 (exactly: the umask could only narrow it).
// Returns whether `dir` itself was created.
absl::StatusOr<bool> CreateDirectories(const fs::path& dir) {
  bool created = false;
  fs::path prefix;
  for (const fs::path& part : dir) {
    prefix /= part;
    if (mkdir(prefix.c_str(), kPrivateDirectory) == 0) {
      if (chmod(prefix.c_str(), kPrivateDirectory) != 0) {
        return absl::UnavailableError(
            fmt::format("cannot make the directory '{}' 0700: {}", prefix.string(), Errno()));
      }
      created = true;
    } else if (errno == EEXIST) {
      created = false;
    } else {
      return absl::UnavailableError(
          fmt::format("cannot create the directory '{}': {}", prefix.string(), Errno()));
    }
  }
  return created;
}

// Creates the directory that holds `what` when it is missing; warns when it exists open to
// other users. Its parents are not judged: a private directory protects what is inside it.
absl::Status PrepareDirectory(const fs::path& dir, const std::string& what) {
  absl::StatusOr<bool> created = CreateDirectories(dir);
  if (!created.ok()) {
    return created.status();
  }
  if (*created) {
    spdlog::info("created the directory '{}' (mode 0700) for {}", dir.string(), what);
    return absl::OkStatus();
  }
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        fmt::format("'{}', meant to hold {}, is not a directory", dir.string(), what));
  }
  if ((st.st_mode & 077) != 0) {
    spdlog::warn(
        "the directory '{}' holding {} is open to other users (mode {}); hotlined did not create "
        "it and leaves it so: make it private (chmod 700 '{}') or choose another directory",
        dir.string(), what, Octal(st.st_mode), dir.string());
  }
  return absl::OkStatus();
}

// Takes every bit beyond 0600 off `path` if it exists, and says so.
absl::Status MakePrivate(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return absl::OkStatus();
    }
    return absl::UnavailableError(fmt::format("cannot read the mode of '{}': {}", path, Errno()));
  }
  if ((st.st_mode & kBeyondPrivateFile) == 0) {
    return absl::OkStatus();
  }
  const mode_t tightened = st.st_mode & 0600;
  if (chmod(path.c_str(), tightened) != 0) {
    return absl::UnavailableError(fmt::format(
        "'{}' is open to other users (mode {}) and cannot be made private: {}; hotlined does not "
        "keep children's data where others can read it",
        path, Octal(st.st_mode), Errno()));
  }
  spdlog::warn("'{}' was open to other users (mode {}); hotlined made it {}", path,
               Octal(st.st_mode), Octal(tightened));
  return absl::OkStatus();
}

// An empty file is a new database to SQLite. Created here, 0600, so SQLite never creates it
// with its default 0644 (less the umask).
absl::Status CreateIfMissing(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0) {
    close(fd);
    return absl::OkStatus();
  }
  if (errno == EEXIST) {
    return absl::OkStatus();
  }
  return absl::UnavailableError(
      fmt::format("cannot create the database file '{}': {}", path, Errno()));
}

// `path` with the symlinks of its last component followed, also to a file that does not exist
// yet, which std::filesystem::weakly_canonical leaves unresolved.
fs::path FollowLinks(fs::path path) {
  std::error_code ec;
  for (int hops = 0; hops < 40 && fs::is_symlink(path, ec); ++hops) {
    const fs::path target = fs::read_symlink(path, ec);
    if (ec) {
      break;
    }
    path = target.is_absolute() ? target : path.parent_path() / target;
  }
  return path;
}

absl::Status PrepareDatabase(const std::string& database) {
  if (absl::Status s = PrepareDirectory(DirectoryOf(database), "the database"); !s.ok()) {
    return s;
  }
  // The lock file is the daemon's (DatabaseLock); -journal only appears if WAL mode was lost.
  for (const char* suffix : {"", "-wal", "-shm", "-journal", ".lock"}) {
    if (absl::Status s = MakePrivate(database + suffix); !s.ok()) {
      return s;
    }
  }
  // Through a symlink to a database not created yet, the file it names: created 0600 here, and
  // existing before the lock is taken, so DatabaseLock finds it by its real name (a dangling
  // link left unresolved put the lock beside the link: a second daemon on the real name started).
  return CreateIfMissing(FollowLinks(database).string());
}

absl::Status PrepareKey(const Config& config) {
  const fs::path dir = DirectoryOf(config.caller_key_file);
  if (absl::Status s = PrepareDirectory(dir, "the caller key"); !s.ok()) {
    return s;
  }
  std::error_code ec;
  if (config.database != ":memory:" && fs::equivalent(dir, DirectoryOf(config.database), ec)) {
    spdlog::warn(
        "the caller key '{}' is in the database's directory: a copy of that directory lets "
        "anyone recover callers' numbers from their hashes; keep the key apart (docs/storage.md)",
        config.caller_key_file);
  }
  if (absl::Status s = MakePrivate(config.caller_key_file); !s.ok()) {
    return s;
  }
  const std::string callback_key = CallbackKeyFile(config);
  if (absl::Status s = PrepareDirectory(DirectoryOf(callback_key), "the callback key"); !s.ok()) {
    return s;
  }
  return MakePrivate(callback_key);
}

// Names, for an operator who upgraded, the key file an older build kept beside the database.
std::string OldKeyHint(const Config& config) {
  const fs::path old = DirectoryOf(config.database) / "caller.key";
  std::error_code ec;
  if (old == fs::path(config.caller_key_file) || !fs::exists(old, ec)) {
    return "";
  }
  return fmt::format(" ('{}' exists: older builds kept the key there; move it to '{}')",
                     old.string(), config.caller_key_file);
}

absl::Status MissingKey(const Config& config) {
  return absl::FailedPreconditionError(fmt::format(
      "the caller key file '{}' is missing, but the database '{}' was written with a caller key; "
      "a new key would silently break every repeat-caller link and never-route rule. Restore the "
      "key file from its backup{} or set security.caller_key_file to where it is; or, to start "
      "afresh without that history, move the database aside and start a new one",
      config.caller_key_file, config.database, OldKeyHint(config)));
}

absl::Status DifferentKey(const Config& config, const std::string& got, const std::string& want) {
  return absl::FailedPreconditionError(fmt::format(
      "the caller key '{}' (fingerprint {}...) is not the key the database '{}' was written with "
      "(fingerprint {}...); with it every repeat-caller link and never-route rule would be "
      "silently wrong. Restore the database's key file from its backup; or, to start afresh "
      "without that history, move the database aside and start a new one",
      config.caller_key_file, got.substr(0, 16), config.database, want.substr(0, 16)));
}

// The key for a database that recorded no fingerprint: created for a new database; the file
// that exists for one from before the fingerprints.
absl::StatusOr<std::unique_ptr<CallerKeyer>> FirstKey(
    const Config& config, storage::Store& store,
    absl::StatusOr<std::unique_ptr<CallerKeyer>> loaded) {
  if (loaded.ok()) {
    return loaded;
  }
  absl::StatusOr<bool> holds = store.HoldsCallerKeys();
  if (!holds.ok()) {
    return holds.status();
  }
  if (*holds) {
    return MissingKey(config);
  }
  auto created = CallerKeyer::Create(config.caller_key_file);
  if (created.ok()) {
    spdlog::info("created the caller key '{}' (mode 0600): back it up apart from the database",
                 config.caller_key_file);
  }
  return created;
}

absl::Status MissingCallbackKey(const Config& config) {
  return absl::FailedPreconditionError(fmt::format(
      "the callback key file '{}' is missing, but the database '{}' holds numbers sealed with a "
      "callback key (or recorded its fingerprint); a new key could never open them. Restore the "
      "key file from its backup or set security.callback_key_file to where it is",
      CallbackKeyFile(config), config.database));
}

}  // namespace

absl::Status PrepareDataFiles(const Config& config) {
  if (config.database != ":memory:") {
    if (absl::Status s = PrepareDatabase(config.database); !s.ok()) {
      return s;
    }
  }
  return PrepareKey(config);
}

absl::StatusOr<std::unique_ptr<CallerKeyer>> OpenCallerKey(const Config& config,
                                                           storage::Store& store) {
  absl::StatusOr<std::optional<std::string>> recorded = store.CallerKeyFingerprint();
  if (!recorded.ok()) {
    return recorded.status();
  }
  auto key = CallerKeyer::Load(config.caller_key_file);
  if (!key.ok() && !absl::IsNotFound(key.status())) {
    return key.status();
  }
  if (recorded->has_value()) {
    if (!key.ok()) {
      return MissingKey(config);
    }
    if (const std::string got = (*key)->Fingerprint(); got != **recorded) {
      return DifferentKey(config, got, **recorded);
    }
    return key;
  }
  key = FirstKey(config, store, std::move(key));
  if (!key.ok()) {
    return key.status();
  }
  if (absl::Status s = store.RecordCallerKeyFingerprint((*key)->Fingerprint()); !s.ok()) {
    return s;
  }
  return key;
}

absl::StatusOr<std::unique_ptr<CallbackSealer>> OpenCallbackKey(const Config& config,
                                                                storage::Store& store) {
  const std::string path = CallbackKeyFile(config);
  absl::StatusOr<std::optional<std::string>> recorded = store.CallbackKeyFingerprint();
  if (!recorded.ok()) {
    return recorded.status();
  }
  absl::StatusOr<KeyBytes> key = ReadKeyFile(path, "callback key");
  if (!key.ok() && !absl::IsNotFound(key.status())) {
    return key.status();
  }
  if (!key.ok()) {
    absl::StatusOr<bool> holds = store.HoldsCallbacks();
    if (!holds.ok()) {
      return holds.status();
    }
    if (recorded->has_value() || *holds) {
      return MissingCallbackKey(config);
    }
    key = CreateKeyFile(path, "callback key");
    if (!key.ok()) {
      return key.status();
    }
    spdlog::info("created the callback key '{}' (mode 0600): back it up apart from the database",
                 path);
  }
  auto sealer = std::make_unique<CallbackSealer>(*key);
  if (recorded->has_value()) {
    if (sealer->Fingerprint() != **recorded) {
      return absl::FailedPreconditionError(fmt::format(
          "the callback key '{}' (fingerprint {}...) is not the key the database '{}' sealed "
          "callback numbers with (fingerprint {}...); restore that key from its backup",
          path, sealer->Fingerprint().substr(0, 16), config.database, (*recorded)->substr(0, 16)));
    }
    return sealer;
  }
  if (absl::Status s = store.RecordCallbackKeyFingerprint(sealer->Fingerprint()); !s.ok()) {
    return s;
  }
  return sealer;
}

absl::Status OneNameOnly(const std::string& path, const std::string& database) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || st.st_nlink <= 1) {
    return absl::OkStatus();  // One name (or none: nothing to refuse).
  }
  // Which name to keep: the one with a WAL beside it holds commits the others cannot see.
  struct stat wal {};
  const bool wal_here = stat((path + "-wal").c_str(), &wal) == 0 && wal.st_size > 0;
  return absl::FailedPreconditionError(fmt::format(
      "the database '{}' has {} names (hard links): SQLite keeps its WAL beside the name a daemon "
      "opens, so a daemon under another name would miss what was committed, or run beside "
      "another; keep the name with a '-wal' file beside it ({}) and remove the others (`find / "
      "-samefile '{}'` lists them all)",
      database, st.st_nlink, wal_here ? "this one has one" : "this one has none", path));
}

}  // namespace hotline::daemon
