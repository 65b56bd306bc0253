// The 4-ary heap the engine's timers are kept in: whatever goes in comes out in order, however
// pushes, pops and a whole rebuild interleave, with an order that is total (as (at, seq) is).
#include "routing/four_heap.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "routing/laned_heap.h"

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

struct AfterOrder {
  bool operator()(const Item& a, const Item& b) const { return After(a, b); }
};

// Three kinds: kind 0 always set a fixed time ahead (a lane keeps it), kind 1 mostly ahead with
// some earlier (a shortened time-out: to the heap), kind 2 anywhere (a ladder step).
TEST_CASE("a laned heap gives back what it holds in the one order, wherever each item went",
          "[routing]") {
  std::mt19937 rng(13);
  LanedHeap<Item, AfterOrder, 3> queue;
  std::set<Item> model;
  int now = 0;
  int seq = 0;
  auto check_front = [&] {
    REQUIRE(queue.size() == model.size());
    if (!model.empty()) {
      REQUIRE(queue.Front() == *model.begin());
    }
  };
  for (int step = 0; step < 30'000; ++step) {
    const uint32_t what = rng() % 20;
    if (what < 11 || model.empty()) {
      const size_t kind = rng() % 3;
      int at = now + 100;
      if (kind == 1 && rng() % 4 == 0) {
        at = now + static_cast<int>(rng() % 100);
      } else if (kind == 2) {
        at = now + static_cast<int>(rng() % 300);
      }
      queue.Push({at, seq}, kind);
      model.insert({at, seq++});
    } else if (what < 19) {
      now = std::max(now, model.begin()->first);
      CHECK(queue.Pop() == *model.begin());
      model.erase(model.begin());
    } else {
      // A sweep: drop every item whose sequence number is divisible by 3.
      queue.EraseIf([](const Item& item) { return item.second % 3 == 0; });
      std::erase_if(model, [](const Item& item) { return item.second % 3 == 0; });
    }
    check_front();
    if (step % 499 == 0) {
      REQUIRE(queue.IsOrdered());
    }
  }
  std::vector<Item> all;
  queue.ForEach([&](const Item& item) { all.push_back(item); });
  std::sort(all.begin(), all.end());
  CHECK(all == std::vector<Item>(model.begin(), model.end()));
  while (!model.empty()) {
    CHECK(queue.Pop() == *model.begin());
    model.erase(model.begin());
  }
  CHECK(queue.empty());
}

TEST_CASE("a laned heap assigned any order pops it sorted, and pushes after it interleave",
          "[routing]") {
  LanedHeap<Item, AfterOrder, 2> queue;
  queue.Push({50, 0}, 0);
  queue.Assign({{30, 3}, {10, 1}, {20, 2}});  // What was there is gone.
  queue.Push({15, 4}, 0);
  queue.Push({25, 5}, 1);
  queue.Push({12, 6}, 1);  // Earlier than the lane's last: to the heap.
  REQUIRE(queue.IsOrdered());
  std::vector<Item> popped;
  while (!queue.empty()) {
    popped.push_back(queue.Pop());
  }
  CHECK(popped == std::vector<Item>{{10, 1}, {12, 6}, {15, 4}, {20, 2}, {25, 5}, {30, 3}});
}

}  // namespace
}  // namespace hotline::routing
