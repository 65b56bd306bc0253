// How the service-level alert says the figure (daemon/queue_summary.h).
#include "daemon/queue_summary.h"

#include <catch2/catch.hpp>

namespace hotline::daemon {
namespace {

TEST_CASE("a low service level reads as the screens round it, never as the target", "[daemon]") {
  // Defect (a black-box check): 19 of 60 (31.67 %) read "31 %" in the alert beside "32%" on the
  // queue screen of the same output: the alert cut the figure, the screen rounds it.
  CHECK(ServiceLevelPercent(19.0 / 60) == "32 %");
  CHECK(ServiceLevelPercent(0.5) == "50 %");
  CHECK(ServiceLevelPercent(0.0) == "0 %");
  CHECK(ServiceLevelPercent(0.794) == "79 %");
  CHECK(ServiceLevelPercent(5.0 / 8) == "62 %");  // An exact half, to even, as the screen.
  // Rounded, these would read "80 %, under the 80 % target".
  CHECK(ServiceLevelPercent(0.7951) == "79.5 %");
  CHECK(ServiceLevelPercent(0.79996) == "79.9 %");
}

}  // namespace
}  // namespace hotline::daemon
