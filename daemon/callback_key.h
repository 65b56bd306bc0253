// Callback numbers (DESIGN.md §6, docs/privacy.md): a caller's number is kept only so someone can
// call back, sealed with libsodium's crypto_secretbox (XSalsa20-Poly1305) under a key in its own
// file beside the caller key, never in the database. Sealed at arrival, so only the sealed form
// ever reaches the database; opened only for an audited reveal.
//
// Why a secret key and not crypto_box_seal with a keypair: the reveal is a daemon RPC, so the
// daemon must hold the opening key anyway; a keypair would add a second file and protect nothing
// more. Whoever holds the database alone learns nothing: the key lives apart from it, and the
// database records only the key's fingerprint, so a missing or different key is refused.
//
// Thread-safe (the key is only read; the nonce pool has a lock of its own).
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "daemon/caller_key.h"

namespace hotline::daemon {

class CallbackSealer final {
 public:
  explicit CallbackSealer(const KeyBytes& key);
  CallbackSealer(const CallbackSealer&) = delete;
  CallbackSealer& operator=(const CallbackSealer&) = delete;
  ~CallbackSealer();

  // A fresh random nonce followed by the secretbox of `number`: the same number seals
  // differently every time, so sealed forms cannot be compared.
  std::string Seal(std::string_view number) const;

  // The random bytes one randombytes_buf draws for nonces: 170 seals' worth (libsodium reads
  // them with getrandom 256 bytes at a time: 16 system calls, about one per 10 seals).
  static constexpr size_t kNoncePoolBytes = 4080;

  // The number `sealed` holds. DATA_LOSS when it was not sealed with this key or was altered.
  absl::StatusOr<std::string> Open(std::string_view sealed) const;

  // The keyed hash of a fixed text, hex: names the key without revealing it.
  std::string Fingerprint() const;

 private:
  // Copies the next unused random bytes of the pool to `out`, drawing a new pool when it runs
  // out: a nonce is still libsodium's random bytes, used once, but a seal costs no system call
  // of its own (the arrival path seals every caller's number).
  void NextNonce(unsigned char* out) const;

  KeyBytes key_;
  mutable std::mutex nonce_mu_;
  mutable std::array<unsigned char, kNoncePoolBytes> nonce_pool_{};
  mutable size_t nonce_used_ = kNoncePoolBytes;  // All used: the first seal draws.
};

}  // namespace hotline::daemon
