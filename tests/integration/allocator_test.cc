// The daemon's process gives large blocks back to the system when they are freed
// (daemon::Daemon::kMapLargeBlocksFrom): a snapshot of a long queue is megabytes, and glibc would
// otherwise keep every later one in its heap, resident for good (docs/performance.md, "Compact
// memory per call").
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
  // Small blocks stay in the heap.
  CHECK_FALSE(AllocatesMapped(daemon::Daemon::kMapLargeBlocksFrom / 16));
#endif
}

}  // namespace
}  // namespace hotline
