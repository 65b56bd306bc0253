// The 4-ary heap the engine's timers are kept in: whatever goes in comes out in order, however
// pushes, pops and a whole rebuild interleave, with an order that is total (as (at, seq) is).
#include "routing/four_heap.h"

#include <catch2/catch.hpp>
#include <functional>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace hotline::routing {
namespace {

// (deadline, sequence): unique, like a timer's (at, seq); the earliest comes out first.
using Item = std::pair<int, int>;
bool After(const Item& a, const Item& b) { return b < a; }

TEST_CASE("a 4-ary heap gives back what it holds, earliest first, through pushes and pops",
          "[routing]") {
  std::mt19937 rng(7);
  std::vector<Item> heap;
  std::set<Item> model;
  int seq = 0;
  for (int step = 0; step < 20'000; ++step) {
    const uint32_t what = rng() % 10;
    if (what < 6 || model.empty()) {
      const Item item{static_cast<int>(rng() % 1000), seq++};
      four_heap::Push(heap, item, After);
      model.insert(item);
    } else {
      REQUIRE(heap.front() == *model.begin());
      CHECK(four_heap::Pop(heap, After) == *model.begin());
      model.erase(model.begin());
    }
    REQUIRE(heap.size() == model.size());
    if (step % 997 == 0) {
      REQUIRE(four_heap::IsHeap(heap, After));
    }
  }
  while (!model.empty()) {
    CHECK(four_heap::Pop(heap, After) == *model.begin());
    model.erase(model.begin());
  }
  CHECK(heap.empty());
}

TEST_CASE("a 4-ary heap made from any order pops it sorted, at every size up to a few levels",
          "[routing]") {
  std::mt19937 rng(11);
  for (size_t n = 0; n <= 90; ++n) {
    INFO("size " << n);
    std::vector<Item> heap;
    for (size_t i = 0; i < n; ++i) {
      heap.emplace_back(static_cast<int>(rng() % 50), static_cast<int>(i));
    }
    std::vector<Item> sorted = heap;
    std::sort(sorted.begin(), sorted.end());
    four_heap::Make(heap, After);
    REQUIRE(four_heap::IsHeap(heap, After));
    std::vector<Item> popped;
    while (!heap.empty()) {
      popped.push_back(four_heap::Pop(heap, After));
    }
    CHECK(popped == sorted);
  }
}

TEST_CASE("IsHeap tells a 4-ary heap from a vector that is not one", "[routing]") {
  std::vector<Item> heap = {{1, 0}, {5, 1}, {2, 2}, {3, 3}, {4, 4}, {6, 5}};
  CHECK(four_heap::IsHeap(heap, After));
  std::swap(heap[0], heap[5]);
  CHECK_FALSE(four_heap::IsHeap(heap, After));
}

}  // namespace
}  // namespace hotline::routing
