// The per-thread cache of freed b-tree nodes the engine's matching buckets allocate through:
// a freed block comes back for the next allocation of its size, and what is kept is bounded.
// Each case runs on a thread of its own, so it starts with an empty cache.
#include "routing/node_cache.h"

#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "absl/container/btree_set.h"

namespace hotline::routing {
namespace {

template <class Fn>
void OnFreshThread(Fn fn) {
  std::thread thread(fn);
  thread.join();
}

TEST_CASE("a freed block is given back to the next allocation of its size", "[routing]") {
  OnFreshThread([] {
    void* block = node_cache::Take(256, 8);
    node_cache::Give(block, 256, 8);
    CHECK(node_cache::KeptBlocks() == 1);
    void* other = node_cache::Take(128, 8);  // Another size: a new block.
    CHECK(other != block);
    void* again = node_cache::Take(256, 8);
    CHECK(again == block);
    CHECK(node_cache::KeptBlocks() == 0);
    node_cache::Give(other, 128, 8);
    node_cache::Give(again, 256, 8);
    CHECK(node_cache::KeptBlocks() == 2);
    // The same size with another alignment is another shelf.
    void* aligned = node_cache::Take(256, 16);
    CHECK(aligned != again);
    node_cache::Give(aligned, 256, 16);
  });
}

TEST_CASE("a block freed on another thread is kept by that thread", "[routing]") {
  OnFreshThread([] {
    void* block = node_cache::Take(256, 8);
    OnFreshThread([block] {
      node_cache::Give(block, 256, 8);
      CHECK(node_cache::KeptBlocks() == 1);
      CHECK(node_cache::Take(256, 8) == block);
      node_cache::Give(block, 256, 8);
    });  // Its thread ends: its cache deletes the block.
    CHECK(node_cache::KeptBlocks() == 0);
  });
}

TEST_CASE("blocks too big for a shelf or too small to link are never kept", "[routing]") {
  OnFreshThread([] {
    const size_t big = node_cache::kBytesPerShelf + 8;
    node_cache::Give(node_cache::Take(big, 8), big, 8);
    node_cache::Give(node_cache::Take(4, 4), 4, 4);
    CHECK(node_cache::KeptBlocks() == 0);
    // Neither took a shelf: every size that fits still finds one.
    for (size_t size = 1; size <= node_cache::kShelves; ++size) {
      node_cache::Give(node_cache::Take(64 * size, 8), 64 * size, 8);
    }
    CHECK(node_cache::KeptBlocks() == node_cache::kShelves);
  });
}

TEST_CASE("the cache keeps a bounded number of blocks of a bounded number of sizes", "[routing]") {
  OnFreshThread([] {
    constexpr size_t kBytes = 512;
    constexpr size_t kLimit = node_cache::kBytesPerShelf / kBytes;
    std::vector<void*> blocks;
    for (size_t i = 0; i < kLimit + 10; ++i) {
      blocks.push_back(node_cache::Take(kBytes, 8));
    }
    for (void* block : blocks) {
      node_cache::Give(block, kBytes, 8);
    }
    CHECK(node_cache::KeptBlocks() == kLimit);  // The 10 over the bound were deleted.
    // Every shelf taken by a size of its own: a further size is never kept.
    for (size_t size = 1; size < node_cache::kShelves; ++size) {
      node_cache::Give(node_cache::Take(kBytes + 16 * size, 8), kBytes + 16 * size, 8);
    }
    CHECK(node_cache::KeptBlocks() == kLimit + node_cache::kShelves - 1);
    node_cache::Give(node_cache::Take(64, 8), 64, 8);
    CHECK(node_cache::KeptBlocks() == kLimit + node_cache::kShelves - 1);
  });
}

TEST_CASE("a b-tree through the cache empties and refills on its kept node", "[routing]") {
  OnFreshThread([] {
    absl::btree_set<int, std::less<>, NodeCacheAllocator<int>> set;
    // A small root grows through a few node sizes: each round allocates and frees the same
    // blocks, so what is kept does not grow.
    size_t kept_after_first = 0;
    for (int round = 0; round < 100; ++round) {
      for (int i = 0; i < 5; ++i) {
        set.insert(round * 10 + i);
      }
      CHECK(set.size() == 5);
      CHECK(*set.begin() == round * 10);
      set.clear();
      if (round == 0) {
        kept_after_first = node_cache::KeptBlocks();
        CHECK(kept_after_first >= 1);
      }
      CHECK(node_cache::KeptBlocks() == kept_after_first);
    }
    for (int i = 0; i < 1000; ++i) {  // Many nodes, then all of them kept.
      set.insert(i);
    }
    CHECK(set.size() == 1000);
    set.clear();
    CHECK(node_cache::KeptBlocks() > kept_after_first + 10);
  });
}

}  // namespace
}  // namespace hotline::routing
