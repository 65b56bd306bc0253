// A priority queue for items most of which arrive in order within their kind: one FIFO lane per
// kind, and a 4-ary heap (four_heap) for the items that do not.
//
// Why: the engine's timers. Most kinds are set a fixed time from now (an offer's time-out, the
// minute's announcement, a connect's time-out), so each kind's deadlines come in order and a
// FIFO keeps them sorted at O(1) a push and a pop. In one heap of some 300,000 timers at 100,000
// waiting calls, an offer's time-out (the earliest deadline) sifted from the bottom to the top
// when set and was sifted down again when taken off, dead, a moment later: 10 % of a busy line's
// instructions (issue 11).
//
// An item goes to its kind's lane when it comes after the lane's last item, otherwise to the heap
// (a kind whose time-out was shortened, a ladder step, anything restored): the lanes stay sorted
// whatever is pushed. The front is the earliest of the lanes' fronts and the heap's, so items come
// out in exactly the order one heap would give when `after` is a strict total order (the
// engine's (at, seq) is unique).
#pragma once

#include <array>
#include <cstddef>
#include <deque>
#include <utility>
#include <vector>

#include "routing/four_heap.h"

namespace hotline::routing {

// `after(a, b)`: `a` comes out after `b` (as for four_heap and std::push_heap).
template <typename T, typename After, size_t kLanes>
class LanedHeap {
 public:
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }

  // Adds `item` of kind `lane` (< kLanes).
  void Push(T item, size_t lane) {
    std::deque<T>& fifo = lanes_[lane];
    const bool earliest = size_ == 0 || After{}(Front(), item);
    size_t source = kHeap;
    if (fifo.empty() || After{}(item, fifo.back())) {
      fifo.push_back(std::move(item));
      source = lane;
    } else {
      four_heap::Push(heap_, std::move(item), After{});
    }
    ++size_;
    if (earliest) {
      front_ = source;
    }
  }

  // The item that comes out first. Not empty.
  const T& Front() const { return front_ == kHeap ? heap_.front() : lanes_[front_].front(); }

  // Removes the front and returns it. Not empty.
  T Pop() {
    T front;
    if (front_ == kHeap) {
      front = four_heap::Pop(heap_, After{});
    } else {
      front = std::move(lanes_[front_].front());
      lanes_[front_].pop_front();
    }
    --size_;
    FindFront();
    return front;
  }

  // Removes every item `drop(item)` is true of: O(size).
  template <typename Drop>
  void EraseIf(Drop drop) {
    size_ = 0;
    for (std::deque<T>& fifo : lanes_) {
      std::erase_if(fifo, drop);
      size_ += fifo.size();
    }
    std::erase_if(heap_, drop);
    four_heap::Make(heap_, After{});
    size_ += heap_.size();
    FindFront();
  }

  // Replaces everything with `items`, in any order: O(n).
  void Assign(std::vector<T> items) {
    for (std::deque<T>& fifo : lanes_) {
      fifo.clear();
    }
    heap_ = std::move(items);
    four_heap::Make(heap_, After{});
    size_ = heap_.size();
    FindFront();
  }

  // Calls `f(item)` for every item, in no particular order.
  template <typename F>
  void ForEach(F f) const {
    for (const std::deque<T>& fifo : lanes_) {
      for (const T& item : fifo) {
        f(item);
      }
    }
    for (const T& item : heap_) {
      f(item);
    }
  }

  // Whether each lane is sorted, the heap is one, and the front is the earliest (for tests).
  bool IsOrdered() const {
    if (!four_heap::IsHeap(heap_, After{})) {
      return false;
    }
    size_t count = heap_.size();
    for (const std::deque<T>& fifo : lanes_) {
      count += fifo.size();
      for (size_t i = 1; i < fifo.size(); ++i) {
        if (!After{}(fifo[i], fifo[i - 1])) {
          return false;
        }
      }
    }
    if (count != size_) {
      return false;
    }
    bool earliest = true;
    ForEach([&](const T& item) { earliest = earliest && !After{}(Front(), item); });
    return earliest;
  }

 private:
  static constexpr size_t kHeap = kLanes;  // front_ when the heap holds the front.

  void FindFront() {
    front_ = kHeap;
    const T* best = heap_.empty() ? nullptr : &heap_.front();
    for (size_t lane = 0; lane < kLanes; ++lane) {
      if (!lanes_[lane].empty() && (best == nullptr || After{}(*best, lanes_[lane].front()))) {
        best = &lanes_[lane].front();
        front_ = lane;
      }
    }
  }

  std::array<std::deque<T>, kLanes> lanes_;
  std::vector<T> heap_;
  size_t size_ = 0;
  // Where the front is: a lane, or kHeap. Meaningless while empty.
  size_t front_ = kHeap;
};

}  // namespace hotline::routing
