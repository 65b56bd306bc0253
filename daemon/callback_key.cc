#include "daemon/callback_key.h"

#include <sodium.h>

#include <algorithm>

#include "daemon/sodium_init.h"

namespace hotline::daemon {

CallbackSealer::CallbackSealer(const KeyBytes& key) : key_(key) {
  static_assert(kKeyFileBytes == crypto_secretbox_KEYBYTES);
  InitSodium();
}

CallbackSealer::~CallbackSealer() { sodium_memzero(key_.data(), key_.size()); }

void CallbackSealer::NextNonce(unsigned char* out) const {
  static_assert(kNoncePoolBytes % crypto_secretbox_NONCEBYTES == 0);
  std::lock_guard lock(nonce_mu_);
  if (nonce_used_ == nonce_pool_.size()) {
    randombytes_buf(nonce_pool_.data(), nonce_pool_.size());
    nonce_used_ = 0;
  }
  std::copy_n(nonce_pool_.data() + nonce_used_, crypto_secretbox_NONCEBYTES, out);
  nonce_used_ += crypto_secretbox_NONCEBYTES;
}

std::string CallbackSealer::Seal(std::string_view number) const {
  std::string out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + number.size(), '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  NextNonce(bytes);
  crypto_secretbox_easy(bytes + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(number.data()), number.size(), bytes,
                        key_.data());
  return out;
}

absl::StatusOr<std::string> CallbackSealer::Open(std::string_view sealed) const {
  if (sealed.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return absl::DataLossError("the sealed number is too short to be one");
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(sealed.data());
  const size_t cipher_size = sealed.size() - crypto_secretbox_NONCEBYTES;
  std::string number(cipher_size - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(number.data()),
                                 bytes + crypto_secretbox_NONCEBYTES, cipher_size, bytes,
                                 key_.data()) != 0) {
    return absl::DataLossError(
        "the sealed number does not open with the callback key (another key, or altered)");
  }
  return number;
}

std::string CallbackSealer::Fingerprint() const {
  std::array<unsigned char, 32> out;
  static constexpr std::string_view kText = "hotline callback key fingerprint v1";
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(kText.data()),
                     kText.size(), key_.data(), key_.size());
  return Hex(out.data(), out.size());
}

}  // namespace hotline::daemon
