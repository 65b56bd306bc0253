// Caller privacy: turns a raw caller number into the two forms Hotline may keep, a keyed hash
// (to recognise repeat callers) and a masked form (for screens). The raw number goes no further
// than these functions (DESIGN.md §6).
//
// Thread-safe after construction (the key is only read).
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace hotline::daemon {

// A 32-byte key as kept in its own file.
inline constexpr size_t kKeyFileBytes = 32;
using KeyBytes = std::array<unsigned char, kKeyFileBytes>;

// Reads a key file; `what` names it in errors ("caller key"). NOT_FOUND when the file does not
// exist; INVALID_ARGUMENT if it holds another number of bytes; UNAVAILABLE when it cannot be read.
absl::StatusOr<KeyBytes> ReadKeyFile(const std::string& path, const std::string& what);

// Creates a key file of 32 random bytes, mode 0600 from the start, and makes its name durable
// (fsync of the directory). The bytes are written and synced in a file of their own first (an
// O_TMPFILE one, or `path.XXXXXX` where the filesystem has none) and then linked to `path`, so a
// process killed half-way leaves no short key under `path`. ALREADY_EXISTS if the file exists (a
// key is never overwritten); UNAVAILABLE for I/O errors (and on a filesystem without hard
// links). `opened` (tests) runs once that file is open, before its bytes are written.
absl::StatusOr<KeyBytes> CreateKeyFile(const std::string& path, const std::string& what,
                                       const std::function<void()>& opened = {});

class CallerKeyer final {
 public:
  static constexpr size_t kKeyBytes = 32;

  // Reads the key from `path`. NOT_FOUND when the file does not exist; INVALID_ARGUMENT if it
  // holds another number of bytes; UNAVAILABLE when it cannot be read.
  static absl::StatusOr<std::unique_ptr<CallerKeyer>> Load(const std::string& path);

  // Creates the key file at `path`: 32 random bytes, mode 0600 from the start. ALREADY_EXISTS if
  // the file exists (a key is never overwritten); UNAVAILABLE for I/O errors.
  static absl::StatusOr<std::unique_ptr<CallerKeyer>> Create(const std::string& path);

  explicit CallerKeyer(const std::array<unsigned char, kKeyBytes>& key);

  // The keyed hash (BLAKE2b, 32 bytes) of the number, hex-encoded. The same number and key give
  // the same hash; without the key it cannot be reversed or checked.
  std::string Key(std::string_view caller_number) const;

  // Identifies the key without revealing it: the keyed hash of a fixed text that is not a phone
  // number, hex-encoded. The database keeps it, so another key is noticed at start.
  std::string Fingerprint() const;

  // The number with all but its last two digits replaced by '*': "+84912345667" -> "**********67".
  static std::string Mask(std::string_view caller_number);

 private:
  std::array<unsigned char, kKeyBytes> key_;
};

// Lowercase hex of the bytes.
std::string Hex(const unsigned char* data, size_t size);

// A fresh random token: 32 bytes from libsodium's CSPRNG, hex-encoded.
std::string NewToken();

// The unkeyed hash (BLAKE2b) of a token, hex-encoded: what the database keeps of desk tokens.
std::string TokenHash(std::string_view token);

}  // namespace hotline::daemon
