// A 4-ary heap over a std::vector, with the calling convention of std::push_heap and
// std::pop_heap: `after(a, b)` is true when `a` comes out after `b`, and the front comes out
// first.
//
// Why not std::push_heap: the engine's timers are a heap of some 300,000 entries (32 bytes each)
// at 100,000 waiting calls, and taking one off the top walked 18 levels of a binary heap, one
// cache miss each near the bottom. Here a node's four children sit side by side (two cache lines)
// and the heap is half as deep: the first source of the engine's data cache misses at that size
// (issue 11) takes about half of them.
//
// The order things come out in is the same as any heap's when `after` is a strict total order
// (the engine's timers: (at, seq) is unique); the layout of the vector is not std's.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace hotline::routing::four_heap {

inline constexpr size_t kArity = 4;

// Moves `heap[i]` down to where it belongs below `i`.
template <typename T, typename After>
void SiftDown(std::vector<T>& heap, size_t i, After after) {
  const size_t n = heap.size();
  T item = std::move(heap[i]);
  while (true) {
    const size_t first = kArity * i + 1;
    if (first >= n) {
      break;
    }
    const size_t end = std::min(first + kArity, n);
    size_t next = first;  // The child that comes out first.
    for (size_t child = first + 1; child < end; ++child) {
      if (after(heap[next], heap[child])) {
        next = child;
      }
    }
    if (!after(item, heap[next])) {
      break;
    }
    heap[i] = std::move(heap[next]);
    i = next;
  }
  heap[i] = std::move(item);
}

// Adds `item`.
template <typename T, typename After>
void Push(std::vector<T>& heap, T item, After after) {
  size_t i = heap.size();
  heap.push_back(std::move(item));
  T moving = std::move(heap[i]);
  while (i > 0) {
    const size_t parent = (i - 1) / kArity;
    if (!after(heap[parent], moving)) {
      break;
    }
    heap[i] = std::move(heap[parent]);
    i = parent;
  }
  heap[i] = std::move(moving);
}

// Removes the front and returns it. The heap must not be empty.
template <typename T, typename After>
T Pop(std::vector<T>& heap, After after) {
  T front = std::move(heap.front());
  if (heap.size() > 1) {
    heap.front() = std::move(heap.back());
    heap.pop_back();
    SiftDown(heap, 0, after);
  } else {
    heap.pop_back();
  }
  return front;
}

// Makes a heap of whatever `heap` holds: O(n).
template <typename T, typename After>
void Make(std::vector<T>& heap, After after) {
  if (heap.size() < 2) {
    return;
  }
  for (size_t i = (heap.size() - 2) / kArity + 1; i-- > 0;) {
    SiftDown(heap, i, after);
  }
}

// Whether `heap` is one (for tests).
template <typename T, typename After>
bool IsHeap(const std::vector<T>& heap, After after) {
  for (size_t i = 1; i < heap.size(); ++i) {
    if (after(heap[(i - 1) / kArity], heap[i])) {
      return false;
    }
  }
  return true;
}

}  // namespace hotline::routing::four_heap
