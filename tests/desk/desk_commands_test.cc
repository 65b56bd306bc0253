// Line mode's commands (clients/desk/desk_commands.h), parsed without a daemon.
#include "clients/desk/desk_commands.h"

#include <catch2/catch.hpp>

namespace hotline::clients {
namespace {

namespace v1 = hotline::v1;

TEST_CASE("break takes an optional reason the counsellor names", "[desk]") {
  const auto plain = ParseDeskCommand("break");
  REQUIRE(plain.ok());
  CHECK(plain->kind == DeskCommand::Kind::kPresence);
  CHECK(plain->state == v1::COUNSELLOR_STATE_BREAK);
  CHECK(plain->break_reason == v1::BREAK_REASON_UNSPECIFIED);
  const auto meal = ParseDeskCommand("break Meal");
  REQUIRE(meal.ok());
  CHECK(meal->break_reason == v1::BREAK_REASON_MEAL);
  CHECK(ParseDeskCommand("break follow_up")->break_reason == v1::BREAK_REASON_FOLLOW_UP);
  // The daemon's own reasons, unknown words and a reason with another state are refused.
  for (const char* line : {"break supervisor", "break cool_down", "break lunch", "available rest",
                           "break chosen"}) {
    INFO(line);
    const auto refused = ParseDeskCommand(line);
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(std::string(refused.status().message()),
               Catch::StartsWith("usage: break [rest|meal|training|debrief|follow_up]"));
  }
}

TEST_CASE("the other commands parse as before", "[desk]") {
  CHECK(ParseDeskCommand("available")->state == v1::COUNSELLOR_STATE_AVAILABLE);
  CHECK(ParseDeskCommand("offline")->state == v1::COUNSELLOR_STATE_OFFLINE);
  const auto accept = ParseDeskCommand("accept c-7");
  REQUIRE(accept.ok());
  CHECK(accept->kind == DeskCommand::Kind::kAnswer);
  CHECK(accept->accept);
  CHECK(accept->call_id == "c-7");
  const auto dispo = ParseDeskCommand("dispo neglect counselled heavy break a note");
  REQUIRE(dispo.ok());
  CHECK(dispo->kind == DeskCommand::Kind::kDisposition);
  CHECK(dispo->disposition.category() == v1::CATEGORY_NEGLECT);
  CHECK(dispo->disposition.action() == v1::ACTION_COUNSELLED);
  CHECK(dispo->disposition.heavy());
  CHECK_FALSE(dispo->ready_for_next);
  CHECK(dispo->disposition.note() == "a note");
  CHECK_FALSE(ParseDeskCommand("dance").ok());
  CHECK(ParseDeskCommand("").value().kind == DeskCommand::Kind::kNothing);
}

}  // namespace
}  // namespace hotline::clients
