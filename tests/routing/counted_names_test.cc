// The table of names that records share (gateway ids of fates, origins of answers): a number per
// name held, let go with the last record, numbers used again.
#include "routing/counted_names.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace hotline::routing {
namespace {

TEST_CASE("a name keeps its number while records count on it, and goes with the last",
          "[routing]") {
  CountedNames names;
  const uint32_t a = names.Acquire("gateway:gw-a");
  CHECK(names.Acquire("gateway:gw-a") == a);
  const uint32_t b = names.Acquire("gateway:gw-b");
  CHECK(b != a);
  CHECK(names.size() == 2);
  CHECK(names.Name(a) == "gateway:gw-a");
  CHECK(names.Find("gateway:gw-b") == b);
  names.Release(a);
  CHECK(names.Find("gateway:gw-a") == a);  // One record still names it.
  names.Release(a);
  CHECK_FALSE(names.Find("gateway:gw-a").has_value());
  CHECK(names.size() == 1);
  // The freed number goes to the next new name, which does not inherit the old one.
  const uint32_t c = names.Acquire("desk:an");
  CHECK(c == a);
  CHECK(names.Name(c) == "desk:an");
  CHECK_FALSE(names.Find("gateway:gw-a").has_value());
  names.Release(b);
  names.Release(c);
  CHECK(names.size() == 0);
}

TEST_CASE("names taken from views of the table itself are stored whole", "[routing]") {
  // Short names live inside the table's strings, which move when the table grows: a new name
  // viewed from one of them must be copied before the move (AddressSanitizer sees it if not).
  CountedNames names;
  std::vector<uint32_t> held;
  for (int i = 0; i < 200; ++i) {
    held.push_back(names.Acquire("n" + std::to_string(i) + "-abcdefg"));
    const std::string_view whole = names.Name(held.back());
    const uint32_t again = names.Acquire(whole);  // The same name: counted, not copied.
    CHECK(again == held.back());
    const std::string want(whole.substr(0, whole.size() - 1));
    const uint32_t part = names.Acquire(whole.substr(0, whole.size() - 1));  // A new name.
    CHECK(names.Name(part) == want);
    CHECK(names.Find(want) == part);
  }
  CHECK(names.size() == 400);
}

}  // namespace
}  // namespace hotline::routing
