// libsodium's start: every user of libsodium in the daemon calls InitSodium() before its first
// use. Safe to call many times and from several threads; aborts without an entropy source, where
// nothing can be sealed, hashed under a secret key or drawn at random safely.
#pragma once

namespace hotline::daemon {

void InitSodium();

}  // namespace hotline::daemon
