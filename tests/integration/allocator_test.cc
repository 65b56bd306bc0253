// The daemon fixes the allocator's bar for mapping blocks from the system
// (daemon::Daemon::kMapLargeBlocksFrom), which turns off glibc's raising of it, and of the bar
// for giving free memory back, after each large block freed: a snapshot of a long queue is
// megabytes, and glibc would otherwise keep later ones resident (docs/performance.md, "Large
// blocks given back").
#include <malloc.h>

#include <catch2/catch.hpp>
#include <cstdlib>

#include "tests/testing/faulty_daemon.h"

namespace hotline {
namespace {

// Whether a block of `bytes` allocated now is mapped from the system (glibc counts mapped blocks
// in use in mallinfo2().hblks).
[[maybe_unused]] bool AllocatesMapped(size_t bytes) {
  const size_t before = mallinfo2().hblks;
  void* block = std::malloc(bytes);
  REQUIRE(block != nullptr);
  static_cast<volatile char*>(block)[0] = 1;  // Used, so the pair is not optimised away.
  const bool mapped = mallinfo2().hblks > before;
  std::free(block);
  return mapped;
}

TEST_CASE("once a daemon runs, large blocks are mapped every time, not only the first",
          "[integration]") {
  testing::FaultyDaemon d;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // Not under a sanitizer (deploy/test --sanitize): its allocator replaces glibc's, and
  // mallinfo2 counts nothing there.
  SUCCEED("glibc's allocator is not the one in use");
#else
  const size_t large = 2 * daemon::Daemon::kMapLargeBlocksFrom;
  // glibc's own rule maps the first and, once it is freed, keeps the next from the heap.
  CHECK(AllocatesMapped(large));
  CHECK(AllocatesMapped(large));
  CHECK(AllocatesMapped(large));
  // Blocks under the bar stay in the heap, even those over glibc's first bar of 128 KB.
  CHECK_FALSE(AllocatesMapped(daemon::Daemon::kMapLargeBlocksFrom / 2));
#endif
}

}  // namespace
}  // namespace hotline
