// Contract tests: each TEST_CASE names one documented guarantee of the daemon's API and checks it
// through the real daemon, over gRPC only (gateway.proto, desk.proto, supervisor.proto,
// admin.proto). Time is the test's (ManualTime) wherever it matters, so no timer fires unasked.
#include <SQLiteCpp/SQLiteCpp.h>

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hotline/v1/journal.pb.h"
#include "tests/testing/daemon_fixture.h"
#include "tests/testing/faulty_sink.h"
#include "tests/testing/log_capture.h"
#include "tests/testing/manual_fixture.h"
#include "tests/testing/manual_time.h"

namespace hotline {
namespace {

using testing::Arrival;
using testing::Authorize;
using testing::DaemonFixture;
using testing::DeskClient;
using testing::FaultSwitch;
using testing::FaultySink;
using testing::GatewayClient;
using testing::IsOffer;
using testing::kPatience;
using testing::ManualFixture;
using testing::ManualTime;
namespace v1 = ::hotline::v1;
using namespace std::chrono_literals;

// --- Helpers. ---

v1::GatewayMessage EventMessage(const std::string& event_id, const std::string& call_id,
                                const std::string& province = "38") {
  v1::GatewayMessage msg;
  msg.mutable_event()->set_event_id(event_id);
  msg.mutable_event()->set_call_id(call_id);
  *msg.mutable_event()->mutable_arrived() = Arrival(province);
  return msg;
}

// Call ids whose CallArrived record is in the journal (committed).
std::vector<std::string> JournalledArrivals(const DaemonFixture& f) {
  SQLite::Database db(f.config.database, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT record FROM journal ORDER BY seq");
  std::vector<std::string> ids;
  while (q.executeStep()) {
    const SQLite::Column blob = q.getColumn(0);
    v1::JournalRecord record;
    REQUIRE(record.ParseFromArray(blob.getBlob(), blob.getBytes()));
    if (record.has_call_arrived()) {
      ids.push_back(record.call_arrived().call_id());
    }
  }
  return ids;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// One column of the call's row, as text ("" when there is no row or the value is NULL).
std::string Column(const DaemonFixture& f, const std::string& call_id, const std::string& column) {
  SQLite::Database db(f.config.database, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT " + column + " FROM calls WHERE call_id = ?");
  q.bind(1, call_id);
  return q.executeStep() && !q.getColumn(0).isNull() ? q.getColumn(0).getString() : "";
}

// Reads the gateway's messages in arrival order until `acks` acks have come: the acks' event ids
// in order, and for each call the position of its first AnnounceCommand relative to the acks
// (the number of acks that came before it).
struct GatewayLog {
  std::vector<std::string> acks;                       // Event ids, in arrival order.
  std::vector<int32_t> ack_codes;                      // Same order.
  std::map<std::string, size_t> announced_after_acks;  // call_id -> acks seen before it.
  std::map<std::string, int32_t> position;             // call_id -> first announced position.
};

GatewayLog ReadUntilAcks(GatewayClient& gw, size_t acks) {
  GatewayLog log;
  while (log.acks.size() < acks) {
    const v1::HotlineMessage m = gw.WaitFor([](const v1::HotlineMessage& msg) {
      return msg.has_ack() || (msg.has_command() && msg.command().has_announce());
    });
    if (m.has_ack()) {
      log.acks.push_back(m.ack().event_id());
      log.ack_codes.push_back(m.ack().code());
    } else if (!log.announced_after_acks.contains(m.command().call_id())) {
      log.announced_after_acks[m.command().call_id()] = log.acks.size();
      log.position[m.command().call_id()] = m.command().announce().position();
    }
  }
  return log;
}

// The status a desk's SetPresence answers with.
struct PresenceAnswer {
  grpc::Status status;
  v1::CounsellorStatus counsellor;
};

PresenceAnswer SetPresence(const DaemonFixture& f, const std::string& token,
                           const std::string& request_id, v1::CounsellorState state) {
  auto stub = v1::DeskService::NewStub(f.channel);
  grpc::ClientContext ctx;
  Authorize(ctx, token);
  ctx.set_deadline(std::chrono::system_clock::now() + kPatience);
  v1::SetPresenceRequest req;
  req.set_request_id(request_id);
  req.set_state(state);
  v1::SetPresenceResponse resp;
  PresenceAnswer answer;
  answer.status = stub->SetPresence(&ctx, req, &resp);
  answer.counsellor = resp.status();
  return answer;
}

// --- 1. Acks and commands (gateway.proto, "Ordering"). ---

TEST_CASE(
    "contract gateway ordering - an event's commands are sent only once its record is committed "
    "and no later than its ack, and acks come in the order of the events",
    "[contract]") {
  ManualFixture m;
  GatewayClient gw(m.f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();

  // Nobody is signed in: every arrival waits, and is announced its place in the queue.
  const std::vector<std::string> calls = {"c-1", "c-2", "c-3", "c-4", "c-5"};
  for (const auto& call_id : calls) {
    gw.Send(EventMessage("ev-" + call_id, call_id));
  }

  // Read in arrival order until every event is acknowledged. Each announcement is only sent once
  // the arrival that caused it is in the journal: look there as each one comes.
  GatewayLog log;
  while (log.acks.size() < calls.size()) {
    const v1::HotlineMessage msg = gw.WaitFor([](const v1::HotlineMessage& h) {
      return h.has_ack() || (h.has_command() && h.command().has_announce());
    });
    if (msg.has_ack()) {
      // An ack is sent once its event is durable.
      INFO("ack of " << msg.ack().event_id());
      CHECK(Contains(JournalledArrivals(m.f), msg.ack().event_id().substr(3)));
      log.acks.push_back(msg.ack().event_id());
      log.ack_codes.push_back(msg.ack().code());
    } else if (!log.announced_after_acks.contains(msg.command().call_id())) {
      const std::string& call_id = msg.command().call_id();
      INFO("announce of " << call_id);
      CHECK(Contains(JournalledArrivals(m.f), call_id));
      log.announced_after_acks[call_id] = log.acks.size();
      log.position[call_id] = msg.command().announce().position();
    }
  }

  // Acks in the events' order, all OK.
  std::vector<std::string> expected;
  for (const auto& call_id : calls) {
    expected.push_back("ev-" + call_id);
  }
  CHECK(log.acks == expected);
  for (int32_t code : log.ack_codes) {
    CHECK(code == 0);
  }
  // Every arrival was announced, at its place, and its announce came before its own ack (the
  // commands an event caused are sent just before its ack): with k acks before it, the
  // announce of the i-th call (0-based) has k <= i.
  for (size_t i = 0; i < calls.size(); ++i) {
    INFO(calls[i]);
    REQUIRE(log.announced_after_acks.contains(calls[i]));
    CHECK(log.announced_after_acks[calls[i]] <= i);
    CHECK(log.position[calls[i]] == static_cast<int32_t>(i + 1));
  }
  // Everything acknowledged is committed.
  const std::vector<std::string> journalled = JournalledArrivals(m.f);
  for (const auto& call_id : calls) {
    CHECK(Contains(journalled, call_id));
  }
}

// While the store fails, commands go out at once and acks wait until the writes succeed
// (gateway.proto, "Ordering"). A refused event's ack is an ack too: it must not overtake the held
// ack of an event sent before it. Regression: EngineHost::GatewayRefused sent the refusal as a
// message, which the writer sends at once while the store fails (and, with a healthy store,
// before the answers of units committed together).
TEST_CASE(
    "contract gateway ordering - while the store fails a refused event's ack does not overtake "
    "the held ack of an earlier event",
    "[contract]") {
  auto faults = std::make_shared<FaultSwitch>();
  auto time = std::make_shared<ManualTime>();
  DaemonFixture f(
      {},
      [faults](storage::Sink& store) -> std::unique_ptr<storage::Sink> {
        return std::make_unique<FaultySink>(store, faults);
      },
      time);
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();

  faults->Fail(absl::UnavailableError("disk full"));
  gw.Send(EventMessage("ev-1", "c-1"));
  // The arrival's command goes out at once; its ack waits for the store.
  const v1::Command announce = gw.WaitForCommand(v1::Command::kAnnounce);
  CHECK(announce.call_id() == "c-1");
  gw.Send(EventMessage("ev-bad", ""));  // Refused: no call id.
  // Let the writer see the refusal while the store still fails: a second command that is sent
  // at once shows it has handled what came before it.
  gw.Send(EventMessage("ev-2", "c-2"));
  CHECK(gw.WaitForCommand(v1::Command::kAnnounce).call_id() == "c-2");
  faults->Heal();
  const GatewayLog log = ReadUntilAcks(gw, 3);
  CHECK(log.acks == std::vector<std::string>{"ev-1", "ev-bad", "ev-2"});
}

// --- 2. The first event of a Watch (desk.proto DeskService.Watch). ---

TEST_CASE(
    "contract desk watch - the first event is a PresenceChanged with the counsellor's current "
    "state",
    "[contract]") {
  ManualFixture m;
  const std::string token = m.f.AddCounsellor("an", "38");

  SECTION("a counsellor not signed in is OFFLINE, with the desk now connected") {
    DeskClient desk(m.f.channel, token);
    const std::optional<v1::DeskEvent> first = desk.inbox.Pop(kPatience);
    REQUIRE(first.has_value());
    REQUIRE(first->has_presence_changed());
    const v1::CounsellorStatus& s = first->presence_changed().status();
    CHECK(s.counsellor_id() == "an");
    CHECK(s.state() == v1::COUNSELLOR_STATE_OFFLINE);
    CHECK(s.desk_connected());
    CHECK(s.call_id().empty());
  }

  SECTION("a counsellor on BREAK who opens a second desk sees BREAK first there") {
    DeskClient desk(m.f.channel, token);
    desk.WaitForState(v1::COUNSELLOR_STATE_OFFLINE);
    REQUIRE(SetPresence(m.f, token, "p-1", v1::COUNSELLOR_STATE_BREAK).status.ok());
    desk.WaitForState(v1::COUNSELLOR_STATE_BREAK);
    DeskClient second(m.f.channel, token);  // Replaces the first desk.
    const std::optional<v1::DeskEvent> first = second.inbox.Pop(kPatience);
    REQUIRE(first.has_value());
    REQUIRE(first->has_presence_changed());
    CHECK(first->presence_changed().status().state() == v1::COUNSELLOR_STATE_BREAK);
    CHECK(first->presence_changed().status().break_reason() == v1::BREAK_REASON_CHOSEN);
    CHECK(first->presence_changed().status().desk_connected());
  }
}

TEST_CASE(
    "contract desk replaced - a desk opened while an offer rings on the old one is offered the "
    "call again, the old offer withdrawn",
    "[contract]") {
  ManualFixture m;
  const std::string token = m.f.AddCounsellor("an", "38");
  DeskClient desk(m.f.channel, token);
  desk.WaitForState(v1::COUNSELLOR_STATE_OFFLINE);
  REQUIRE(SetPresence(m.f, token, "p-1", v1::COUNSELLOR_STATE_AVAILABLE).status.ok());
  GatewayClient gw(m.f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  gw.Arrive("c-1", "38", v1::PRIORITY_NORMAL, "+84987654321");
  REQUIRE(gw.WaitForAck().code() == 0);
  const auto offer_of_c1 = [](const v1::DeskEvent& e) {
    return e.has_offer() && e.offer().call().call_id() == "c-1";
  };
  desk.WaitFor(offer_of_c1);

  // The same counsellor opens another desk (the old connection half dead, say) while it rings.
  DeskClient second(m.f.channel, token);
  desk.WaitForEnd();
  CHECK(desk.final_status.error_code() == grpc::StatusCode::ABORTED);
  // The new desk can see the offer, and take the call: without that the counsellor stayed
  // RESERVED for an offer shown nowhere until it timed out and counted as missed.
  const v1::DeskEvent offer = second.WaitFor(offer_of_c1);
  CHECK(offer.offer().call().call_id() == "c-1");
  CHECK(second.Answer("c-1", true).ok());
  second.WaitForState(v1::COUNSELLOR_STATE_ON_CALL);
}

// --- 3. SetPresence(AVAILABLE) answers the state it led to. ---

TEST_CASE(
    "contract desk presence - AVAILABLE answers RESERVED when a waiting call is offered at once "
    "and AVAILABLE when none is",
    "[contract]") {
  ManualFixture m;
  const std::string token = m.f.AddCounsellor("an", "38");
  DeskClient desk(m.f.channel, token);
  desk.WaitForState(v1::COUNSELLOR_STATE_OFFLINE);

  SECTION("no call waiting") {
    const PresenceAnswer a = SetPresence(m.f, token, "p-1", v1::COUNSELLOR_STATE_AVAILABLE);
    INFO(a.status.error_message());
    REQUIRE(a.status.ok());
    CHECK(a.counsellor.state() == v1::COUNSELLOR_STATE_AVAILABLE);
    CHECK(a.counsellor.call_id().empty());
  }

  SECTION("a call waiting that the counsellor can take") {
    GatewayClient gw(m.f.channel, DaemonFixture::kGatewayToken, "gw-1");
    gw.WaitForWelcome();
    gw.Arrive("c-1", "38");
    REQUIRE(gw.WaitForAck().code() == 0);
    const PresenceAnswer a = SetPresence(m.f, token, "p-1", v1::COUNSELLOR_STATE_AVAILABLE);
    INFO(a.status.error_message());
    REQUIRE(a.status.ok());
    CHECK(a.counsellor.state() == v1::COUNSELLOR_STATE_RESERVED);
    CHECK(a.counsellor.call_id() == "c-1");
    CHECK(desk.WaitFor(IsOffer).offer().call().call_id() == "c-1");
  }
}

// --- 4. The canonical province (gateway.proto CallArrived.province, deploy/regions.toml). ---

TEST_CASE(
    "contract canonical province - an old province code is routed and recorded as today's code "
    "and an unknown one is kept as sent and marked unknown",
    "[contract]") {
  ManualFixture m;
  GatewayClient gw(m.f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();

  SECTION("an old code: \"02\" was merged into \"08\"") {
    testing::SignedIn tuyen(m.f, "tuyen", "08");
    gw.Arrive("c-old", "02");
    REQUIRE(gw.WaitForAck().code() == 0);
    const v1::DeskEvent offer = tuyen.desk.WaitFor(IsOffer);
    CHECK(offer.offer().call().call_id() == "c-old");
    CHECK(offer.offer().call().province() == "08");
    gw.Event("c-old", [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
    REQUIRE(gw.WaitForAck().code() == 0);
    CHECK(Column(m.f, "c-old", "province") == "08");
    CHECK(Column(m.f, "c-old", "province_unknown") == "0");
  }

  SECTION("an unknown code") {
    testing::SignedIn an(m.f, "an", "01");
    gw.Arrive("c-unknown", "99");
    REQUIRE(gw.WaitForAck().code() == 0);
    // Routed (at national scope): offered to a counsellor of another province.
    const v1::DeskEvent offer = an.desk.WaitFor(IsOffer);
    CHECK(offer.offer().call().call_id() == "c-unknown");
    CHECK(offer.offer().call().province() == "99");
    gw.Event("c-unknown", [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
    REQUIRE(gw.WaitForAck().code() == 0);
    CHECK(Column(m.f, "c-unknown", "province") == "99");
    CHECK(Column(m.f, "c-unknown", "province_unknown") == "1");
  }
}

TEST_CASE(
    "contract canonical province - a caller's number sent as the province is neither kept nor "
    "logged: the call routes nationally, marked unknown",
    "[contract]") {
  // Defect (a black-box check): an unknown code of up to 16 letters or digits was kept on the
  // row for good and quoted in the log, so a gateway that put the caller ID in the province
  // field (an easy mistake in a dialplan) wrote children's numbers to both.
  testing::LogCapture log;
  ManualFixture m;
  GatewayClient gw(m.f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  testing::SignedIn an(m.f, "an", "01");
  gw.Arrive("c-number", "0969000111");
  REQUIRE(gw.WaitForAck().code() == 0);
  const v1::DeskEvent offer = an.desk.WaitFor(IsOffer);  // Routed, at national scope.
  CHECK(offer.offer().call().call_id() == "c-number");
  CHECK(offer.offer().call().province().empty());
  gw.Event("c-number", [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
  REQUIRE(gw.WaitForAck().code() == 0);
  CHECK(Column(m.f, "c-number", "province").empty());
  CHECK(Column(m.f, "c-number", "province_unknown") == "1");
  bool told = false;
  for (const std::string& line : log.Lines()) {
    CHECK(line.find("969000111") == std::string::npos);
    told = told || line.find("sent a province of 10 characters") != std::string::npos;
  }
  CHECK(told);
  // A code that is not a number is kept, to be diagnosed.
  gw.Arrive("c-code", "VN-44");
  REQUIRE(gw.WaitForAck().code() == 0);
  m.Sync();
  bool named = false;
  for (const std::string& line : log.Lines()) {
    named = named || line.find("sent unknown province code 'VN-44'") != std::string::npos;
  }
  CHECK(named);
  SQLite::Database db(m.f.config.database, SQLite::OPEN_READONLY);
  CHECK(db.execAndGet("SELECT count(*) FROM journal").getInt() > 0);
  CHECK(db.execAndGet("SELECT count(*) FROM journal WHERE instr(record, "
                      "CAST('969000111' AS BLOB)) > 0")
            .getInt() == 0);
}

// --- 5. The wording of a missing required field. ---

// INVALID_ARGUMENT, worded exactly "<field>: is required".
void CheckRequired(const grpc::Status& s, const std::string& field) {
  INFO(field << " -> code " << s.error_code() << ": " << s.error_message());
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(s.error_message() == field + ": is required");
}

v1::Counsellor GoodCounsellor() {
  v1::Counsellor c;
  c.set_counsellor_id("binh");
  c.set_display_name("Counsellor binh");
  c.set_home_province("38");
  auto* skill = c.add_skills();
  skill->set_topic(v1::TOPIC_COUNSELLING);
  skill->set_proficiency(4);
  c.add_languages("vi");
  c.set_endpoint("sip:binh@pbx.local");
  return c;
}

TEST_CASE(
    "contract missing field - an empty required value is refused INVALID_ARGUMENT worded "
    "field is required",
    "[contract]") {
  ManualFixture m;
  const std::string token = m.f.AddCounsellor("an", "38");

  SECTION("gateway events: event.event_id and event.call_id") {
    GatewayClient gw(m.f.channel, DaemonFixture::kGatewayToken, "gw-1");
    gw.WaitForWelcome();
    gw.Send(EventMessage("", "c-1"));
    v1::EventAck ack = gw.WaitForAck();
    CheckRequired(grpc::Status(static_cast<grpc::StatusCode>(ack.code()), ack.message()),
                  "event.event_id");
    gw.Send(EventMessage("ev-1", ""));
    ack = gw.WaitForAck();
    CHECK(ack.event_id() == "ev-1");
    CheckRequired(grpc::Status(static_cast<grpc::StatusCode>(ack.code()), ack.message()),
                  "event.call_id");
    // A malformed, non-empty value keeps its format message.
    gw.Send(EventMessage("ev-2", "no spaces allowed"));
    ack = gw.WaitForAck();
    CHECK(ack.code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(ack.message(), Catch::StartsWith("event.call_id: must be"));
  }

  SECTION("desk requests: request_id, call_id, state, disposition.category and action") {
    auto desk = v1::DeskService::NewStub(m.f.channel);
    auto call = [&](auto rpc, const auto& req, auto resp) {
      grpc::ClientContext ctx;
      Authorize(ctx, token);
      ctx.set_deadline(std::chrono::system_clock::now() + kPatience);
      return ((*desk).*rpc)(&ctx, req, &resp);
    };
    {
      v1::SetPresenceRequest req;
      req.set_state(v1::COUNSELLOR_STATE_BREAK);
      CheckRequired(call(&v1::DeskService::Stub::SetPresence, req, v1::SetPresenceResponse()),
                    "request_id");
      req.set_request_id("p-1");
      req.set_state(v1::COUNSELLOR_STATE_UNSPECIFIED);
      CheckRequired(call(&v1::DeskService::Stub::SetPresence, req, v1::SetPresenceResponse()),
                    "state");
    }
    {
      v1::AnswerOfferRequest req;
      req.set_call_id("c-1");
      CheckRequired(call(&v1::DeskService::Stub::AnswerOffer, req, v1::AnswerOfferResponse()),
                    "request_id");
      req.set_request_id("a-1");
      req.clear_call_id();
      CheckRequired(call(&v1::DeskService::Stub::AnswerOffer, req, v1::AnswerOfferResponse()),
                    "call_id");
    }
    {
      v1::SubmitDispositionRequest req;
      req.set_call_id("c-1");
      req.mutable_disposition()->set_category(v1::CATEGORY_FAMILY_RELATIONSHIPS);
      req.mutable_disposition()->set_action(v1::ACTION_COUNSELLED);
      CheckRequired(
          call(&v1::DeskService::Stub::SubmitDisposition, req, v1::SubmitDispositionResponse()),
          "request_id");
      req.set_request_id("d-1");
      req.clear_call_id();
      CheckRequired(
          call(&v1::DeskService::Stub::SubmitDisposition, req, v1::SubmitDispositionResponse()),
          "call_id");
      req.set_call_id("c-1");
      req.mutable_disposition()->clear_category();
      CheckRequired(
          call(&v1::DeskService::Stub::SubmitDisposition, req, v1::SubmitDispositionResponse()),
          "disposition.category");
      req.mutable_disposition()->set_category(v1::CATEGORY_FAMILY_RELATIONSHIPS);
      req.mutable_disposition()->clear_action();
      CheckRequired(
          call(&v1::DeskService::Stub::SubmitDisposition, req, v1::SubmitDispositionResponse()),
          "disposition.action");
      // A value this daemon does not know (a newer desk's) is named as such, not as missing.
      req.mutable_disposition()->set_action(static_cast<v1::Action>(9999));
      grpc::Status unknown =
          call(&v1::DeskService::Stub::SubmitDisposition, req, v1::SubmitDispositionResponse());
      CHECK(unknown.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
      CHECK(unknown.error_message() ==
            "disposition.action: 9999 is not an action this daemon knows");
      req.mutable_disposition()->set_action(v1::ACTION_COUNSELLED);
      req.mutable_disposition()->set_category(static_cast<v1::Category>(9999));
      unknown =
          call(&v1::DeskService::Stub::SubmitDisposition, req, v1::SubmitDispositionResponse());
      CHECK(unknown.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
      CHECK(unknown.error_message() ==
            "disposition.category: 9999 is not a category this daemon knows");
    }
    {
      v1::NeverRouteCallerRequest req;
      req.set_call_id("c-1");
      CheckRequired(
          call(&v1::DeskService::Stub::NeverRouteCaller, req, v1::NeverRouteCallerResponse()),
          "request_id");
      req.set_request_id("n-1");
      req.clear_call_id();
      CheckRequired(
          call(&v1::DeskService::Stub::NeverRouteCaller, req, v1::NeverRouteCallerResponse()),
          "call_id");
    }
  }

  SECTION("admin CreateCounsellor: counsellor_id, display_name, home_province, endpoint") {
    auto create = [&](const v1::Counsellor& c) {
      grpc::ClientContext ctx;
      Authorize(ctx, DaemonFixture::kAdminToken);
      ctx.set_deadline(std::chrono::system_clock::now() + kPatience);
      v1::CreateCounsellorRequest req;
      *req.mutable_counsellor() = c;
      v1::CreateCounsellorResponse resp;
      return m.f.admin->CreateCounsellor(&ctx, req, &resp);
    };
    v1::Counsellor c = GoodCounsellor();
    c.clear_counsellor_id();
    CheckRequired(create(c), "counsellor.counsellor_id");
    c = GoodCounsellor();
    c.clear_display_name();
    CheckRequired(create(c), "counsellor.display_name");
    c = GoodCounsellor();
    c.clear_home_province();
    CheckRequired(create(c), "counsellor.home_province");
    c = GoodCounsellor();
    c.clear_endpoint();
    CheckRequired(create(c), "counsellor.endpoint");
    // A malformed, non-empty value keeps its format message.
    c = GoodCounsellor();
    c.set_counsellor_id("Not Lowercase");
    const grpc::Status s = create(c);
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(s.error_message(), Catch::StartsWith("counsellor.counsellor_id: must be"));
  }

  SECTION("supervisor requests: request_id, counsellor_id, call_id, priority, from, to") {
    auto sup = v1::SupervisorService::NewStub(m.f.channel);
    auto call = [&](auto rpc, const auto& req, auto resp) {
      grpc::ClientContext ctx;
      Authorize(ctx, DaemonFixture::kSupervisorToken);
      ctx.set_deadline(std::chrono::system_clock::now() + kPatience);
      return ((*sup).*rpc)(&ctx, req, &resp);
    };
    {
      v1::SetCounsellorPresenceRequest req;
      req.set_counsellor_id("an");
      req.set_state(v1::COUNSELLOR_STATE_BREAK);
      CheckRequired(call(&v1::SupervisorService::Stub::SetCounsellorPresence, req,
                         v1::SetCounsellorPresenceResponse()),
                    "request_id");
    }
    {
      v1::ChangeCallPriorityRequest req;
      req.set_call_id("c-1");
      req.set_priority(v1::PRIORITY_HIGH);
      CheckRequired(call(&v1::SupervisorService::Stub::ChangeCallPriority, req,
                         v1::ChangeCallPriorityResponse()),
                    "request_id");
      req.set_request_id("s-2");
      req.clear_priority();
      CheckRequired(call(&v1::SupervisorService::Stub::ChangeCallPriority, req,
                         v1::ChangeCallPriorityResponse()),
                    "priority");
    }
    {
      v1::SupervisorNeverRouteRequest req;
      req.set_counsellor_id("an");
      req.set_call_id("c-1");
      CheckRequired(call(&v1::SupervisorService::Stub::NeverRouteCaller, req,
                         v1::SupervisorNeverRouteResponse()),
                    "request_id");
      req.set_request_id("s-3");
      req.clear_call_id();
      CheckRequired(call(&v1::SupervisorService::Stub::NeverRouteCaller, req,
                         v1::SupervisorNeverRouteResponse()),
                    "call_id");
    }
    {
      v1::ExplainCallRequest req;
      CheckRequired(call(&v1::SupervisorService::Stub::ExplainCall, req, v1::ExplainCallResponse()),
                    "call_id");
    }
    {
      v1::ReportRequest req;
      req.set_by(v1::ReportRequest::CENTRE);
      *req.mutable_to() = google::protobuf::Timestamp();
      CheckRequired(call(&v1::SupervisorService::Stub::Report, req, v1::ReportResponse()), "from");
      req.mutable_from()->set_seconds(0);
      req.clear_to();
      CheckRequired(call(&v1::SupervisorService::Stub::Report, req, v1::ReportResponse()), "to");
    }
    // The fields that name a counsellor or a call. Regression: the service passed them to the
    // engine unchecked, and an empty one was looked up and answered NOT_FOUND ("counsellor ''
    // not found", "call_id: no live call ''").
    {
      v1::SetCounsellorPresenceRequest req;
      req.set_request_id("s-4");
      req.set_state(v1::COUNSELLOR_STATE_BREAK);
      CheckRequired(call(&v1::SupervisorService::Stub::SetCounsellorPresence, req,
                         v1::SetCounsellorPresenceResponse()),
                    "counsellor_id");
    }
    {
      v1::ChangeCallPriorityRequest req;
      req.set_request_id("s-5");
      req.set_priority(v1::PRIORITY_HIGH);
      CheckRequired(call(&v1::SupervisorService::Stub::ChangeCallPriority, req,
                         v1::ChangeCallPriorityResponse()),
                    "call_id");
    }
    {
      v1::SupervisorNeverRouteRequest req;
      req.set_request_id("s-6");
      req.set_call_id("c-1");
      CheckRequired(call(&v1::SupervisorService::Stub::NeverRouteCaller, req,
                         v1::SupervisorNeverRouteResponse()),
                    "counsellor_id");
    }
    {
      v1::EndCallRequest req;
      req.set_call_id("c-1");
      req.set_reason("the gateway lost it");
      CheckRequired(call(&v1::SupervisorService::Stub::EndCall, req, v1::EndCallResponse()),
                    "request_id");
      req.set_request_id("s-7");
      req.clear_call_id();
      CheckRequired(call(&v1::SupervisorService::Stub::EndCall, req, v1::EndCallResponse()),
                    "call_id");
      req.set_call_id("c-1");
      req.clear_reason();
      CheckRequired(call(&v1::SupervisorService::Stub::EndCall, req, v1::EndCallResponse()),
                    "reason");
    }
  }
}

}  // namespace
}  // namespace hotline
