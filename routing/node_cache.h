// An allocator that keeps freed blocks of a few sizes for reuse, per thread: for the nodes of the
// engine's matching buckets (Engine::Indexes::counsellors).
//
// Why: a counsellor leaves every bucket they are in when offered a call and comes back after the
// wrap-up, so at a busy line a bucket empties and refills at every call, and an Abseil b-tree
// frees its last node when it empties and allocates one when it refills. glibc's per-thread
// cache holds 7 blocks of a size, fewer than the dozen or more buckets a counsellor leaves at
// once, so most of those frees and allocations went through malloc's shared bins: about a tenth
// of the engine's instructions per event at 1,000 counsellors (docs/performance.md).
//
// Bounds: at most kShelves sizes are kept (a b-tree has an inner node's and a leaf's, and a small
// root leaf that doubles from one slot to a leaf's, 1, 2, 4, 8 slots: six for a set of RankKey),
// and at most kBytesPerShelf bytes of each; a block of another size, one over the bound, or one
// too small to hold a pointer goes straight to operator delete. Kept blocks are linked through
// their first word, so keeping one allocates nothing; under AddressSanitizer the rest of a kept
// block is poisoned, so a use after free is still reported. The cache belongs to the thread that
// frees a block, and is freed with it; a block freed after that goes to operator delete.
// It never changes what is stored, only where: decisions do not depend on it.
#pragma once

#include <cstddef>
#include <new>

namespace hotline::routing {

namespace node_cache {
// A block of `bytes` with `align`: a kept one if there is one, else operator new.
void* Take(size_t bytes, size_t align);
// Keeps the block for the next Take of its size, or deletes it (see the bounds above).
void Give(void* block, size_t bytes, size_t align);
inline constexpr size_t kShelves = 8;
inline constexpr size_t kBytesPerShelf = size_t{256} << 10;
// Blocks kept on this thread, of every size: for tests.
size_t KeptBlocks();
}  // namespace node_cache

template <class T>
struct NodeCacheAllocator {
  using value_type = T;
  NodeCacheAllocator() = default;
  template <class U>
  NodeCacheAllocator(const NodeCacheAllocator<U>& /*other*/) {}  // NOLINT: rebinding converts.
  T* allocate(size_t n) { return static_cast<T*>(node_cache::Take(n * sizeof(T), alignof(T))); }
  void deallocate(T* block, size_t n) { node_cache::Give(block, n * sizeof(T), alignof(T)); }
  // Stateless: any one frees what another allocated.
  template <class U>
  bool operator==(const NodeCacheAllocator<U>& /*other*/) const {
    return true;
  }
};

}  // namespace hotline::routing
