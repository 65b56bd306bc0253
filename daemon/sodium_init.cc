#include "daemon/sodium_init.h"

#include <sodium.h>

#include <cstdlib>

namespace hotline::daemon {

void InitSodium() {
  if (sodium_init() < 0) {
    std::abort();
  }
}

}  // namespace hotline::daemon
