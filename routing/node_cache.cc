#include "routing/node_cache.h"

#include <array>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define HOTLINE_POISON(block, bytes) ASAN_POISON_MEMORY_REGION(block, bytes)
#define HOTLINE_UNPOISON(block, bytes) ASAN_UNPOISON_MEMORY_REGION(block, bytes)
#else
#define HOTLINE_POISON(block, bytes) static_cast<void>(0)
#define HOTLINE_UNPOISON(block, bytes) static_cast<void>(0)
#endif

namespace hotline::routing::node_cache {
namespace {

// Set once this thread's cache is destroyed (a block freed after that, say by a static owner
// destroyed after the thread's thread_locals, goes straight to operator delete). A bool needs no
// destructor, so it can still be read then.
thread_local bool cache_gone = false;

// The blocks of one size and alignment, as a list linked through their first word: keeping a
// block allocates nothing. `bytes` 0: an unused shelf.
struct Shelf {
  size_t bytes = 0;
  size_t align = 0;
  void* head = nullptr;
  size_t count = 0;
};

// A block kept on a shelf: its first word links to the next; the rest is poisoned under
// AddressSanitizer, so a use after free of a kept node is still reported.
void*& Link(void* block) { return *static_cast<void**>(block); }

struct Cache {
  std::array<Shelf, kShelves> shelves;
  Cache() = default;
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;
  ~Cache() {
    cache_gone = true;
    for (Shelf& shelf : shelves) {
      while (shelf.head != nullptr) {
        void* block = shelf.head;
        shelf.head = Link(block);
        HOTLINE_UNPOISON(block, shelf.bytes);
        ::operator delete(block, std::align_val_t{shelf.align});
      }
    }
  }
  // The shelf for blocks of this size, taking an unused one if none is and `take`; null when
  // there is none.
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
        return &shelf;
      }
    }
    return nullptr;
  }
};

Cache& ThisThread() {
  thread_local Cache cache;
  return cache;
}

// Whether blocks of this size are ever kept: big enough for the link, small enough for a shelf to
// hold more than none.
bool Keepable(size_t bytes, size_t align) {
  return bytes >= sizeof(void*) && align >= alignof(void*) && bytes <= kBytesPerShelf;
}

}  // namespace

void* Take(size_t bytes, size_t align) {
  if (!cache_gone && Keepable(bytes, align)) {
    if (Shelf* shelf = ThisThread().ShelfFor(bytes, align, false);
        shelf != nullptr && shelf->head != nullptr) {
      void* block = shelf->head;
      HOTLINE_UNPOISON(block, bytes);
      shelf->head = Link(block);
      --shelf->count;
      return block;
    }
  }
  return ::operator new (bytes, std::align_val_t{align});
}

void Give(void* block, size_t bytes, size_t align) {
  if (!cache_gone && Keepable(bytes, align)) {
    if (Shelf* shelf = ThisThread().ShelfFor(bytes, align, true);
        shelf != nullptr && shelf->count < kBytesPerShelf / bytes) {
      Link(block) = shelf->head;
      shelf->head = block;
      ++shelf->count;
      HOTLINE_POISON(static_cast<char*>(block) + sizeof(void*), bytes - sizeof(void*));
      return;
    }
  }
  ::operator delete(block, std::align_val_t{align});
}

size_t KeptBlocks() {
  if (cache_gone) {
    return 0;
  }
  size_t kept = 0;
  for (const Shelf& shelf : ThisThread().shelves) {
    kept += shelf.count;
  }
  return kept;
}

}  // namespace hotline::routing::node_cache
