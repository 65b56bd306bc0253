#include "routing/node_cache.h"

#include <array>
#include <vector>

namespace hotline::routing::node_cache {
namespace {

// Set once this thread's cache is destroyed (a block freed after that, say by a static owner
// destroyed after the thread's thread_locals, goes straight to operator delete). A bool needs no
// destructor, so it can still be read then.
thread_local bool cache_gone = false;

// The blocks of one size and alignment. `bytes` 0: an unused shelf.
struct Shelf {
  size_t bytes = 0;
  size_t align = 0;
  std::vector<void*> blocks;  // Reserved to its bound when first used: Give never allocates.
};

struct Cache {
  std::array<Shelf, kShelves> shelves;
  Cache() = default;
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;
  ~Cache() {
    cache_gone = true;
    for (Shelf& shelf : shelves) {
      for (void* block : shelf.blocks) {
        ::operator delete (block, shelf.bytes, std::align_val_t{shelf.align});
      }
    }
  }
  // The shelf for blocks of this size, taking an unused one if none is; null when all are used.
  Shelf* ShelfFor(size_t bytes, size_t align, bool take) {
    for (Shelf& shelf : shelves) {
      if (shelf.bytes == bytes && shelf.align == align) {
        return &shelf;
      }
      if (shelf.bytes == 0) {
        if (!take) {
          return nullptr;
        }
        shelf.bytes = bytes;
        shelf.align = align;
        shelf.blocks.reserve(Limit(bytes));
        return &shelf;
      }
    }
    return nullptr;
  }
  static size_t Limit(size_t bytes) { return kBytesPerShelf / bytes; }
};

Cache& ThisThread() {
  thread_local Cache cache;
  return cache;
}

}  // namespace

void* Take(size_t bytes, size_t align) {
  if (cache_gone) {
    return ::operator new (bytes, std::align_val_t{align});
  }
  if (Shelf* shelf = ThisThread().ShelfFor(bytes, align, false);
      shelf != nullptr && !shelf->blocks.empty()) {
    void* block = shelf->blocks.back();
    shelf->blocks.pop_back();
    return block;
  }
  return ::operator new (bytes, std::align_val_t{align});
}

void Give(void* block, size_t bytes, size_t align) {
  if (cache_gone) {
    ::operator delete (block, bytes, std::align_val_t{align});
    return;
  }
  if (Shelf* shelf = ThisThread().ShelfFor(bytes, align, true);
      shelf != nullptr && shelf->blocks.size() < Cache::Limit(bytes)) {
    shelf->blocks.push_back(block);
    return;
  }
  ::operator delete (block, bytes, std::align_val_t{align});
}

size_t KeptBlocks() {
  if (cache_gone) {
    return 0;
  }
  size_t kept = 0;
  for (const Shelf& shelf : ThisThread().shelves) {
    kept += shelf.blocks.size();
  }
  return kept;
}

}  // namespace hotline::routing::node_cache
