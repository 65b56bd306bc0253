#include "daemon/caller_key.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace hotline::daemon {

namespace {

void InitSodium() {
  // Safe to call many times and from several threads; fails only without an entropy source.
  if (sodium_init() < 0) {
    std::abort();
  }
}

}  // namespace

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

absl::StatusOr<std::unique_ptr<CallerKeyer>> CallerKeyer::LoadOrCreate(const std::string& path) {
  InitSodium();
  std::array<unsigned char, kKeyBytes> key;
  std::ifstream in(path, std::ios::binary);
  if (in) {
    in.read(reinterpret_cast<char*>(key.data()), key.size());
    if (in.gcount() != static_cast<std::streamsize>(key.size()) || in.peek() != EOF) {
      return absl::InvalidArgumentError(
          absl::StrCat("caller key file '", path, "' must hold exactly ", kKeyBytes, " bytes"));
    }
    return std::make_unique<CallerKeyer>(key);
  }
  randombytes_buf(key.data(), key.size());
  // Created 0600 from the start: the key must never be readable by others, even briefly.
  const mode_t old_mask = umask(077);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(key.data()), key.size());
  out.close();
  umask(old_mask);
  if (!out) {
    return absl::InternalError(
        absl::StrCat("cannot create caller key file '", path, "': ", std::strerror(errno)));
  }
  return std::make_unique<CallerKeyer>(key);
}

CallerKeyer::CallerKeyer(const std::array<unsigned char, kKeyBytes>& key) : key_(key) {}

std::string CallerKeyer::Key(std::string_view caller_number) const {
  std::array<unsigned char, 32> out;
  crypto_generichash(out.data(), out.size(),
                     reinterpret_cast<const unsigned char*>(caller_number.data()),
                     caller_number.size(), key_.data(), key_.size());
  return Hex(out.data(), out.size());
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
