#include "daemon/caller_key.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "daemon/sodium_init.h"

namespace hotline::daemon {

std::string Hex(const unsigned char* data, size_t size) {
  std::string out(size * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, size);
  out.pop_back();
  return out;
}

std::string NewToken() {
  InitSodium();
  std::array<unsigned char, 32> bytes;
  randombytes_buf(bytes.data(), bytes.size());
  return Hex(bytes.data(), bytes.size());
}

std::string TokenHash(std::string_view token) {
  InitSodium();
  std::array<unsigned char, crypto_generichash_BYTES> out;
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(token.data()),
                     token.size(), nullptr, 0);
  return Hex(out.data(), out.size());
}

absl::StatusOr<KeyBytes> ReadKeyFile(const std::string& path, const std::string& what) {
  InitSodium();
  KeyBytes key;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const std::string why = std::strerror(errno);
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat("the ", what, " file '", path, "' does not exist"));
    }
    return absl::UnavailableError(
        absl::StrCat("cannot read the ", what, " file '", path, "': ", why));
  }
  // One byte more than a key, to tell a longer file from a key.
  std::array<unsigned char, kKeyFileBytes + 1> buffer;
  const ssize_t n = read(fd, buffer.data(), buffer.size());
  close(fd);
  if (n != static_cast<ssize_t>(kKeyFileBytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " file '", path, "' must hold exactly ", kKeyFileBytes, " bytes"));
  }
  std::copy_n(buffer.begin(), kKeyFileBytes, key.begin());
  return key;
}

absl::StatusOr<KeyBytes> CreateKeyFile(const std::string& path, const std::string& what,
                                       const std::function<void()>& opened) {
  InitSodium();
  KeyBytes key;
  randombytes_buf(key.data(), key.size());
  // Written whole in a file of its own first, 0600 from the start (never readable by others, even
  // briefly), then linked to `path`: a process killed before the link leaves no short key that
  // would refuse every later start. The file is nameless (O_TMPFILE) where the filesystem allows,
  // so a kill leaves nothing behind; elsewhere it is `path.XXXXXX`, unlinked after.
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const std::string dir_name = dir.empty() ? "." : dir;
  std::string temp;
  int fd = open(dir_name.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    temp = path + ".XXXXXX";
    fd = mkostemp(temp.data(), O_CLOEXEC);
  }
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot create the ", what, " file '", path, "': ", std::strerror(errno)));
  }
  if (opened) {
    opened();
  }
  const bool complete =
      write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && fsync(fd) == 0;
  const std::string why = std::strerror(errno);
  // link, not rename: a key that exists is never overwritten, whatever raced us to it.
  int linked = -1;
  if (complete) {
    linked = temp.empty() ? linkat(AT_FDCWD, absl::StrCat("/proc/self/fd/", fd).c_str(), AT_FDCWD,
                                   path.c_str(), AT_SYMLINK_FOLLOW)
                          : link(temp.c_str(), path.c_str());
  }
  const int link_errno = errno;
  close(fd);
  if (!temp.empty()) {
    unlink(temp.c_str());
  }
  if (!complete) {
    return absl::UnavailableError(
        absl::StrCat("cannot write the ", what, " file '", path, "': ", why));
  }
  if (linked != 0) {
    if (link_errno == EEXIST) {
      return absl::AlreadyExistsError(
          absl::StrCat("the ", what, " file '", path, "' exists already"));
    }
    return absl::UnavailableError(absl::StrCat("cannot create the ", what, " file '", path,
                                               "': ", std::strerror(link_errno)));
  }
  // The file's name is durable only once its directory is: the database records the key's
  // fingerprint next, and a fingerprint that outlived its key (a power cut now) would have the
  // database refused at the next start.
  const int dir_fd = open(dir_name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = dir_fd >= 0 && fsync(dir_fd) == 0;
  const std::string dir_why = std::strerror(errno);
  if (dir_fd >= 0) {
    close(dir_fd);
  }
  if (!synced) {
    return absl::UnavailableError(absl::StrCat("cannot make the ", what, " file '", path,
                                               "' durable (fsync of its directory): ", dir_why));
  }
  return key;
}

absl::StatusOr<std::unique_ptr<CallerKeyer>> CallerKeyer::Load(const std::string& path) {
  auto key = ReadKeyFile(path, "caller key");
  if (!key.ok()) {
    return key.status();
  }
  return std::make_unique<CallerKeyer>(*key);
}

absl::StatusOr<std::unique_ptr<CallerKeyer>> CallerKeyer::Create(const std::string& path) {
  auto key = CreateKeyFile(path, "caller key");
  if (!key.ok()) {
    return key.status();
  }
  return std::make_unique<CallerKeyer>(*key);
}

CallerKeyer::CallerKeyer(const std::array<unsigned char, kKeyBytes>& key) : key_(key) {}

std::string CallerKeyer::Key(std::string_view caller_number) const {
  std::array<unsigned char, 32> out;
  crypto_generichash(out.data(), out.size(),
                     reinterpret_cast<const unsigned char*>(caller_number.data()),
                     caller_number.size(), key_.data(), key_.size());
  return Hex(out.data(), out.size());
}

std::string CallerKeyer::Fingerprint() const {
  // Callers' numbers are '+' and digits, so this text is never one: the fingerprint is no
  // caller's hash.
  return Key("hotline caller key fingerprint v1");
}

std::string CallerKeyer::Mask(std::string_view caller_number) {
  std::string out(caller_number.size(), '*');
  for (size_t i = caller_number.size() >= 2 ? caller_number.size() - 2 : 0;
       i < caller_number.size(); ++i) {
    out[i] = caller_number[i];
  }
  return out;
}

}  // namespace hotline::daemon
