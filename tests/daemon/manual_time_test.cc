// The test clock itself: Advance() returns only once the completions it fired have run, so a
// completion that re-arms its timer arms it from the time it fired at, not from a later step the
// test takes (the race that hung "a watcher gets a full view, then numbered changes ..." in CI).
#include "tests/testing/manual_time.h"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

namespace hotline::testing {
namespace {

using namespace std::chrono_literals;

TEST_CASE("the manual clock's Advance returns after the timers it fired have run", "[daemon][time]") {
  ManualTime time;
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });

  std::unique_ptr<daemon::Timer> timer = time.MakeTimer(io);
  std::atomic<int> fired = 0;
  std::atomic<int64_t> rearmed_for = 0;
  std::function<void()> tick = [&] {
    // A busy thread: the completion takes a while before it re-arms, as the engine thread does
    // when it flushes a summary first. Before the fix the test's next Advance overtook it.
    std::this_thread::sleep_for(50ms);
    ++fired;
    const daemon::MonotonicTime at = time.MonotonicNow() + 1s;
    rearmed_for = at.time_since_epoch().count();
    timer->ArmAt(at, tick);
  };
  timer->ArmAt(time.MonotonicNow() + 1s, tick);
  const daemon::MonotonicTime start = time.MonotonicNow();

  time.Advance(1s);
  CHECK(fired == 1);  // Ran before Advance returned ...
  CHECK(rearmed_for == (start + 2s).time_since_epoch().count());  // ... and re-armed from 1 s.
  time.Advance(10s);  // So this step fires it again.
  CHECK(fired == 2);

  time.Advance(0s);  // Nothing due: returns at once.
  CHECK(fired == 2);

  timer->Cancel();
  work.reset();
  io.stop();
  runner.join();
}

}  // namespace
}  // namespace hotline::testing
