// Hostile input through the real daemon (issue 10, part 4): held calls checked as events are,
// free text refused before it is logged, stored, echoed or sent on, errors that echo at most an
// excerpt, log lines that cannot be forged, a stream whose message cannot be parsed ended with
// INVALID_ARGUMENT, and listen ports refused outside 0-65535. Each case names the defect it pins.
#include <grpcpp/generic/generic_stub.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <thread>

#include "daemon/logging.h"
#include "daemon/text_checks.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/testing/daemon_fixture.h"
#include "tests/testing/log_capture.h"
#include "tests/testing/manual_time.h"

namespace hotline {
namespace {

using testing::Arrival;
using testing::Authorize;
using testing::DaemonFixture;
using testing::DeskClient;
using testing::GatewayClient;
using testing::LogCapture;
using testing::SignedIn;
namespace v1 = ::hotline::v1;

const std::string kMegabyte(1 << 20, 'x');

// The longest an echo of an untrusted value may be: an excerpt and its "…(N bytes)".
constexpr size_t kLongestEcho = daemon::kExcerptBytes + 32;

// A daemon with gateway "gw-1" connected and welcomed.
struct WithGateway {
  WithGateway() { gw.WaitForWelcome(); }
  DaemonFixture f;
  GatewayClient gw{f.channel, DaemonFixture::kGatewayToken, "gw-1"};
};

v1::HeldCall Held(const std::string& call_id) {
  v1::HeldCall held;
  held.set_call_id(call_id);
  *held.mutable_arrived() = Arrival("38");
  return held;
}

v1::Welcome WelcomeFor(DaemonFixture& f, const std::vector<v1::HeldCall>& held) {
  v1::Hello hello = GatewayClient::HelloFor("gw-1");
  for (const v1::HeldCall& h : held) {
    *hello.add_held_calls() = h;
  }
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, hello);
  return gw.WaitForWelcome();
}

void CheckRefused(const v1::HeldCallResult& result, const std::string& message) {
  INFO(result.message());
  CHECK(result.fate() == v1::HeldCallResult::FATE_REFUSED);
  CHECK(result.code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(result.message(), Catch::Contains(message));
}

TEST_CASE("a held call whose arrived_at is no timestamp is refused naming it, as an event is",
          "[integration][hostile]") {
  // Defect: an arrived_at with negative nanos, nanos past a second or seconds past year 9999 was
  // taken as absent and the call admitted, where the same occurred_at refuses an event.
  DaemonFixture f;
  std::vector<v1::HeldCall> held(4, Held(""));
  held[0].set_call_id("c-negative-nanos");
  held[0].mutable_arrived_at()->set_nanos(-1);
  held[1].set_call_id("c-too-many-nanos");
  held[1].mutable_arrived_at()->set_nanos(1'000'000'000);
  held[2].set_call_id("c-after-9999");
  held[2].mutable_arrived_at()->set_seconds(253'402'300'800);
  held[3].set_call_id("c-fine");
  const v1::Welcome welcome = WelcomeFor(f, held);
  REQUIRE(welcome.held_calls_size() == 4);
  CheckRefused(welcome.held_calls(0), "hello.held_calls[0].arrived_at: is not a valid timestamp");
  CheckRefused(welcome.held_calls(1), "hello.held_calls[1].arrived_at: is not a valid timestamp");
  CheckRefused(welcome.held_calls(2), "hello.held_calls[2].arrived_at: is not a valid timestamp");
  CHECK(welcome.held_calls(3).fate() == v1::HeldCallResult::FATE_ADMITTED);
  CHECK(f.View().calls_size() == 1);
}

TEST_CASE("a held call id that is 1 MB, empty, or holds a newline is refused and echoed cut",
          "[integration][hostile]") {
  // Defects: the 1 MB id came back as 128 bytes of it; an id of 127 letters and an 'é' came back
  // cut inside the 'é', a Welcome that is not UTF-8, which the gateway could not parse at all.
  DaemonFixture f;
  const std::string cut_in_a_letter = std::string(127, 'a') + "é";
  const v1::Welcome welcome = WelcomeFor(
      f, {Held(kMegabyte), Held(""), Held("c-1\nforged"), Held(cut_in_a_letter), Held("c-ok")});
  REQUIRE(welcome.held_calls_size() == 5);
  CheckRefused(welcome.held_calls(0), "hello.held_calls[0].call_id: must be 1-128");
  CHECK(welcome.held_calls(0).call_id().size() <= kLongestEcho);
  CHECK_THAT(welcome.held_calls(0).call_id(), Catch::EndsWith("…(1048576 bytes)"));
  CheckRefused(welcome.held_calls(1), "hello.held_calls[1].call_id: is required");
  CheckRefused(welcome.held_calls(2), "hello.held_calls[2].call_id: must be 1-128");
  CHECK(welcome.held_calls(2).call_id() == "c-1\\x0aforged");
  CheckRefused(welcome.held_calls(3), "hello.held_calls[3].call_id: must be 1-128");
  CHECK(daemon::ValidateText(welcome.held_calls(3).call_id(), "call_id").ok());
  CHECK(welcome.held_calls(4).fate() == v1::HeldCallResult::FATE_ADMITTED);
  CHECK(f.View().calls_size() == 1);
}

TEST_CASE("a held call's malformed arrival is routed with defaults, as an arrival event is",
          "[integration][hostile]") {
  // Pins the parity of the two paths: the held call is read by ParseArrival too, and an arrival
  // time in year 9999 is taken as now (it would otherwise never time out). On the test's clock,
  // so "now" is exact.
  auto time = std::make_shared<testing::ManualTime>();
  DaemonFixture f({}, nullptr, time);
  v1::HeldCall held = Held("c-spoilt");
  held.mutable_arrived()->set_province("38\n");
  held.mutable_arrived()->set_caller_number("0912\n345678");
  held.mutable_arrived()->set_language("v\ti");
  held.mutable_arrived()->set_topic(static_cast<v1::Topic>(77));
  held.mutable_arrived()->set_priority(static_cast<v1::Priority>(99));
  held.mutable_arrived_at()->set_seconds(253'402'300'799);
  const v1::Welcome welcome = WelcomeFor(f, {held});
  REQUIRE(welcome.held_calls_size() == 1);
  CHECK(welcome.held_calls(0).fate() == v1::HeldCallResult::FATE_ADMITTED);
  const v1::QueueView view = f.View();
  REQUIRE(view.calls_size() == 1);
  const v1::CallSummary& call = view.calls(0).summary();
  CHECK(call.province().empty());
  CHECK(call.caller_masked() == "withheld");
  CHECK(call.language() == "vi");
  CHECK(call.topic() == v1::TOPIC_OTHER);
  CHECK(call.priority() == v1::PRIORITY_NORMAL);
  CHECK(call.arrived_at().seconds() == routing::ToUnixMillis(time->SystemTime()) / 1000);
}

TEST_CASE("a failure reason with a newline is refused naming the field and the byte",
          "[integration][hostile]") {
  // Defect: event.failed.reason was checked for length only; "lost\n[...] forged" was recorded.
  WithGateway g;
  DaemonFixture& f = g.f;
  GatewayClient& gw = g.gw;
  gw.Arrive("c-1", "38");
  REQUIRE(gw.WaitForAck().code() == 0);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"lost\n[info] forged", "(U+000A) at byte 4"},
      {std::string("a\0b", 3), "(U+0000) at byte 1"},
      {"\xc2\x85", "(U+0085) at byte 0"},
  };
  for (const auto& [reason, where] : cases) {
    gw.Event("c-1", [&](v1::CallEvent& e) { e.mutable_failed()->set_reason(reason); });
    const v1::EventAck ack = gw.WaitForAck();
    CHECK(ack.code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(ack.message() == "event.failed.reason: contains a control character " + where);
  }
  CHECK(f.View().calls_size() == 1);  // Still waiting: nothing was recorded.
}

grpc::Status Create(DaemonFixture& f, const v1::CreateCounsellorRequest& req) {
  grpc::ClientContext ctx;
  Authorize(ctx, DaemonFixture::kAdminToken);
  v1::CreateCounsellorResponse resp;
  return f.admin->CreateCounsellor(&ctx, req, &resp);
}

TEST_CASE("a display name or endpoint with a control character, blank or of 1 MB is refused",
          "[integration][hostile]") {
  // Defect: both were checked for length only; an endpoint with "\r\n" was sent on to the
  // gateway in every ConnectCommand, a display name with ESC to every supervisor's screen.
  DaemonFixture f;
  struct Case {
    std::function<void(v1::Counsellor&)> spoil;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](v1::Counsellor& c) { c.set_display_name("Lan\x1b[2J"); },
       "counsellor.display_name: contains a control character (U+001B) at byte 3"},
      {[](v1::Counsellor& c) { c.set_display_name(std::string("L\0", 2)); },
       "counsellor.display_name: contains a control character (U+0000) at byte 1"},
      {[](v1::Counsellor& c) { c.set_display_name(kMegabyte); },
       "counsellor.display_name: must be 1-100 bytes"},
      {[](v1::Counsellor& c) { c.set_endpoint("sip:lan@pbx\r\nINVITE"); },
       "counsellor.endpoint: contains a control character (U+000D) at byte 11"},
      {[](v1::Counsellor& c) { c.set_endpoint(kMegabyte); },
       "counsellor.endpoint: must be 1-200 bytes"},
      // A black-box check: a name of spaces alone, and an endpoint with a space, were taken.
      {[](v1::Counsellor& c) { c.set_display_name("   "); },
       "counsellor.display_name: is only spaces"},
      {[](v1::Counsellor& c) { c.set_endpoint("sip:a b@pbx"); },
       "counsellor.endpoint: contains a space at byte 5"},
  };
  for (const Case& c : cases) {
    v1::CreateCounsellorRequest req = testing::NewCounsellor("lan", "38");
    c.spoil(*req.mutable_counsellor());
    const grpc::Status s = Create(f, req);
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(s.error_message() == c.message);
  }
  CHECK(Create(f, testing::NewCounsellor("lan", "38")).ok());  // Nothing was created before.
}

TEST_CASE("a removed counsellor's id is not given to someone else while their history is kept",
          "[integration]") {
  // Defect (a black-box check): an id removed and added again made the new person the owner of
  // the old one's calls, offers and presence: every report showed their figures as one.
  DaemonFixture f;
  const auto remove = [&](const std::string& id) {
    grpc::ClientContext ctx;
    Authorize(ctx, DaemonFixture::kAdminToken);
    v1::RemoveCounsellorRequest req;
    req.set_counsellor_id(id);
    req.set_sign_out(true);
    v1::RemoveCounsellorResponse resp;
    return f.admin->RemoveCounsellor(&ctx, req, &resp);
  };
  { SignedIn lan(f, "lan", "38"); }  // Signed in: presence rows name lan.
  REQUIRE(remove("lan").ok());
  const grpc::Status again = Create(f, testing::NewCounsellor("lan", "38"));
  CHECK(again.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK_THAT(again.error_message(),
             Catch::StartsWith("counsellor.counsellor_id: 'lan' belonged to a removed counsellor"));
  // One never signed in has no history: the id is free again once it is removed.
  REQUIRE(Create(f, testing::NewCounsellor("binh", "38")).ok());
  CHECK(Create(f, testing::NewCounsellor("binh", "38")).error_code() ==
        grpc::StatusCode::ALREADY_EXISTS);  // In use.
  REQUIRE(remove("binh").ok());
  CHECK(Create(f, testing::NewCounsellor("binh", "38")).ok());
}

TEST_CASE("a disposition note with a control character or over 2,000 bytes is refused",
          "[integration][hostile]") {
  // Defect: the note was checked for length only, then stored and exported with what it held.
  DaemonFixture f;
  SignedIn lan(f, "lan", "38");
  v1::Disposition d;
  d.set_category(v1::CATEGORY_OTHER);
  d.set_action(v1::ACTION_NONE);
  d.set_note("she said\nforged");
  grpc::Status s = lan.desk.Dispose("c-1", d);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(s.error_message() == "disposition.note: contains a control character (U+000A) at byte 8");
  d.set_note(kMegabyte);
  s = lan.desk.Dispose("c-1", d);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(s.error_message() == "disposition.note: must be at most 2000 bytes");
}

TEST_CASE("errors echo at most an excerpt of a 1 MB id", "[integration][hostile]") {
  // Defects: RemoveCounsellor answered NOT_FOUND with the whole 1 MB id in its message, and the
  // refusal of an event whose event_id is 1 MB acknowledged it with that id.
  DaemonFixture f;
  grpc::ClientContext ctx;
  Authorize(ctx, DaemonFixture::kAdminToken);
  v1::RemoveCounsellorRequest remove;
  remove.set_counsellor_id(kMegabyte);
  v1::RemoveCounsellorResponse removed;
  const grpc::Status s = f.admin->RemoveCounsellor(&ctx, remove, &removed);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(s.error_message().size() <= kLongestEcho);

  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  v1::GatewayMessage msg;
  msg.mutable_event()->set_event_id(kMegabyte);
  msg.mutable_event()->set_call_id("c-1");
  *msg.mutable_event()->mutable_arrived() = Arrival("38");
  gw.Send(msg);
  const v1::EventAck ack = gw.WaitForAck();
  CHECK(ack.code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(ack.event_id().size() <= kLongestEcho);
  CHECK(ack.message().size() <= kLongestEcho);
}

TEST_CASE("a command id with a newline forges no log line", "[integration][hostile]") {
  // Defect: an unknown command id was logged as sent, so a newline in it started a line of the
  // gateway's choosing in hotlined's log.
  LogCapture log;
  WithGateway g;
  GatewayClient& gw = g.gw;
  const std::string forged = "[2026-12-01 00:00:00.000] [critical] forged";
  v1::GatewayMessage msg;
  msg.mutable_command_result()->set_command_id("x\n" + forged);
  msg.mutable_command_result()->mutable_done();
  gw.Send(msg);
  // Read in order on one stream: once this is acknowledged, the result has been handled.
  gw.Arrive("c-1", "38");
  REQUIRE(gw.WaitForAck().code() == 0);
  bool named = false;
  for (const std::string& line : log.Lines()) {
    CHECK_THAT(line, !Catch::StartsWith(forged));
    named = named || line.find("command_result.command_id: contains a control character "
                               "(U+000A) at byte 1") != std::string::npos;
  }
  CHECK(named);
}

TEST_CASE("a gateway message that cannot be parsed ends the stream with INVALID_ARGUMENT",
          "[integration][hostile]") {
  // Defect: gRPC reports a message that fails to parse as a failed read, as it does the gateway
  // half-closing, and the daemon ended the stream with OK. A string that is not UTF-8 is such a
  // message: proto3 parsers refuse it (the client's serializer only logs).
  WithGateway g;
  GatewayClient& gw = g.gw;
  v1::GatewayMessage broken;
  broken.mutable_event()->set_event_id("e-\xff");
  broken.mutable_event()->set_call_id("c-2");
  broken.mutable_event()->mutable_caller_hung_up();
  gw.Send(broken);
  gw.WaitFor([](const v1::HotlineMessage& m) { return testing::IsEndOfStream(m); });
  const grpc::Status s = gw.Finish();
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  // The field named, as a check of a parsed event would.
  CHECK(s.error_message() == "event.event_id: is not valid UTF-8 at byte 2");
}

TEST_CASE("a request that is not UTF-8 is refused naming the field and changes nothing",
          "[integration][hostile]") {
  // Defect: gRPC 1.51's generated code answered such a unary request itself, INTERNAL "Unable to
  // parse request", before the daemon saw it: a code that blames the daemon, no field named. The
  // daemon now takes unary requests as bytes and parses them (rpc::ServeUnary).
  daemon::RouteProtobufLog();  // As hotlined's main does, before the daemon's threads.
  LogCapture capture;
  spdlog::default_logger()->set_level(spdlog::level::debug);
  DaemonFixture f;
  v1::CreateCounsellorRequest req = testing::NewCounsellor("lan", "38");
  req.mutable_counsellor()->set_display_name("L\xff");
  const grpc::Status s = Create(f, req);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(s.error_message() == "counsellor.display_name: is not valid UTF-8 at byte 1");
  // Protobuf's own line about it is the daemon's log's, at debug level, not a raw stderr line.
  bool routed = false;
  for (const std::string& line : capture.Lines()) {
    // The daemon's parse ("when parsing"), not this client's serializing of the same string.
    routed = routed || (line.find("protobuf: String field 'hotline.v1.Counsellor.display_name'") !=
                            std::string::npos &&
                        line.find("when parsing") != std::string::npos);
  }
  CHECK(routed);
  req = testing::NewCounsellor("lan", "38");
  req.mutable_counsellor()->add_languages("e\xe1\xbb");  // Cut inside a character.
  CHECK(Create(f, req).error_message() == "counsellor.languages[1]: is not valid UTF-8 at byte 1");
  grpc::ClientContext ctx;
  Authorize(ctx, DaemonFixture::kAdminToken);
  v1::ListCounsellorsResponse list;
  REQUIRE(f.admin->ListCounsellors(&ctx, v1::ListCounsellorsRequest(), &list).ok());
  CHECK(list.counsellors_size() == 0);
  // And the same request whole is served as before.
  CHECK(Create(f, testing::NewCounsellor("lan", "38")).ok());
}

TEST_CASE("a request whose bytes are not the protocol is refused as such",
          "[integration][hostile]") {
  // Bytes no protobuf message parses from (field 0 is not a field), sent as a raw request.
  DaemonFixture f;
  grpc::GenericStub stub(f.channel);
  grpc::CompletionQueue cq;
  const auto send = [&](const std::string& method, const std::string& bytes) {
    grpc::ClientContext ctx;
    Authorize(ctx, DaemonFixture::kAdminToken);
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::Status status;
    auto call = stub.PrepareUnaryCall(&ctx, method, request, &cq);
    call->StartCall();
    call->Finish(&response, &status, &status);
    void* tag = nullptr;
    bool ok = false;
    REQUIRE(cq.Next(&tag, &ok));
    return status;
  };
  const grpc::Status garbage =
      send("/hotline.v1.AdminService/CreateCounsellor", std::string("\x00\x01", 2));
  CHECK(garbage.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(garbage.error_message() ==
        "request: cannot be parsed as a CreateCounsellorRequest (bytes that are not this "
        "protocol)");
  // The same way in, a well-formed request is served: the raw path is the daemon's own.
  v1::ListCounsellorsRequest list;
  CHECK(send("/hotline.v1.AdminService/ListCounsellors", list.SerializeAsString()).ok());
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
  }
}

TEST_CASE("a stream's opening request that does not parse is refused naming the field",
          "[integration][hostile]") {
  // Defect: the server-streaming methods (DeskService.Watch, SupervisorService.WatchQueue,
  // grpc.health.v1.Health.Watch) were parsed by gRPC's generated code, which answered a request
  // that is not UTF-8 or not the protocol INTERNAL "Unable to parse request". The daemon now takes
  // their requests as bytes and parses them (ServeServerStream), as it does the unary ones.
  DaemonFixture f;
  grpc::Status refused;
  {
    grpc::ClientContext ctx;
    Authorize(ctx, DaemonFixture::kSupervisorToken);
    v1::WatchQueueRequest request;
    request.set_epoch("e\xff");
    auto reader = v1::SupervisorService::NewStub(f.channel)->WatchQueue(&ctx, request);
    v1::QueueUpdate update;
    CHECK_FALSE(reader->Read(&update));
    refused = reader->Finish();
  }
  CHECK(refused.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(refused.error_message() == "epoch: is not valid UTF-8 at byte 1");
  {
    grpc::ClientContext ctx;
    grpc::health::v1::HealthCheckRequest request;
    request.set_service("hotline\xc3");
    auto reader = grpc::health::v1::Health::NewStub(f.channel)->Watch(&ctx, request);
    grpc::health::v1::HealthCheckResponse response;
    CHECK_FALSE(reader->Read(&response));
    refused = reader->Finish();
  }
  CHECK(refused.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(refused.error_message() == "service: is not valid UTF-8 at byte 7");
  {
    // WatchDeskRequest has no fields; bytes that are no message at all, sent raw.
    grpc::GenericStub stub(f.channel);
    grpc::CompletionQueue cq;
    grpc::ClientContext ctx;
    Authorize(ctx, "any-desk-token");
    auto call = stub.PrepareCall(&ctx, "/hotline.v1.DeskService/Watch", &cq);
    const auto next = [&cq] {
      void* tag = nullptr;
      bool ok = false;
      REQUIRE(cq.Next(&tag, &ok));
    };
    call->StartCall(nullptr);
    next();
    grpc::Slice slice(std::string("\x00\x01", 2));
    call->WriteLast(grpc::ByteBuffer(&slice, 1), grpc::WriteOptions(), nullptr);
    next();
    call->Finish(&refused, nullptr);
    next();
    cq.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq.Next(&tag, &ok)) {
    }
  }
  CHECK(refused.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(refused.error_message() ==
        "request: cannot be parsed as a WatchDeskRequest (bytes that are not this protocol)");
  // The streams are served as before: a whole request opens one.
  SignedIn desk(f, "lan", "38");  // DeskService.Watch, then AVAILABLE as seen on it.
  CHECK(testing::CounsellorIn(f.View(), "lan").state() == v1::COUNSELLOR_STATE_AVAILABLE);
}

TEST_CASE("a listen port outside 0-65535 is refused at start naming the key",
          "[integration][hostile]") {
  // Defect: http_listen "127.0.0.1:99999" was accepted; the HTTP server truncated the port to
  // 16 bits and listened on another one (34463).
  testing::TempDir dir;
  for (const auto& [key, listen] : {std::pair{"http_listen", "127.0.0.1:99999"},
                                    std::pair{"grpc_listen", "127.0.0.1:65536"},
                                    std::pair{"http_listen", "127.0.0.1:80x"}}) {
    daemon::Config config = testing::TestConfig(dir);
    (std::string(key) == "http_listen" ? config.http_listen : config.grpc_listen) = listen;
    auto started = daemon::Daemon::Start(config);
    REQUIRE_FALSE(started.ok());
    CHECK(started.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(started.status().message()), Catch::StartsWith(key));
  }
}

// [limits] max_waiting_calls: a gateway flooding arrivals cannot grow the queue without end. The
// arrival past the bound is acknowledged RESOURCE_EXHAUSTED (the gateway plays its overflow
// message), nothing of it is stored, and the refusal is not remembered: the same event resent
// once a caller has left is taken.
TEST_CASE("an arrival past max_waiting_calls is refused RESOURCE_EXHAUSTED and taken once there is room",
          "[integration][hostile][limits]") {
  DaemonFixture f([](daemon::Config& c) { c.limits.max_waiting_calls = 2; });
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  gw.Arrive("c-1", "38");
  CHECK(gw.WaitForAck().code() == 0);
  gw.Arrive("c-2", "38");
  CHECK(gw.WaitForAck().code() == 0);

  v1::GatewayMessage third;
  third.mutable_event()->set_event_id("ev-third");
  third.mutable_event()->set_call_id("c-3");
  *third.mutable_event()->mutable_arrived() = Arrival("38", "+84912345999");
  gw.Send(third);
  const v1::EventAck refused = gw.WaitForAck();
  // Nothing of it kept: its hang-up is for a call never seen.
  gw.Event("c-3", [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
  CHECK(gw.WaitForAck().code() != 0);
  CHECK(refused.event_id() == "ev-third");
  CHECK(refused.code() == static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
  CHECK_THAT(refused.message(), Catch::Contains("queue is full"));
  CHECK_THAT(refused.message(), Catch::Contains("overflow"));

  // The first caller leaves: there is room, and the same event is taken now.
  gw.Event("c-1", [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
  CHECK(gw.WaitForAck().code() == 0);
  gw.Send(third);
  const v1::EventAck taken = gw.WaitForAck();
  CHECK(taken.event_id() == "ev-third");
  CHECK(taken.code() == 0);
  gw.Event("c-3", [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
  CHECK(gw.WaitForAck().code() == 0);
}

// [limits] requests_per_second / request_burst: a credential asking faster than its rate gets
// RESOURCE_EXHAUSTED naming the limit, another credential is not held up, and the bucket refills
// with the daemon's (manual) clock.
TEST_CASE("a credential past its request rate is refused RESOURCE_EXHAUSTED until its bucket refills",
          "[integration][hostile][limits]") {
  auto time = std::make_shared<testing::ManualTime>();
  DaemonFixture f(
      [](daemon::Config& c) {
        c.limits.requests_per_second = 1;
        c.limits.request_burst = 3;
      },
      nullptr, time);
  const auto list = [&](const std::string& token) {
    grpc::ClientContext ctx;
    Authorize(ctx, token);
    v1::ListCounsellorsResponse response;
    return f.admin->ListCounsellors(&ctx, v1::ListCounsellorsRequest(), &response);
  };
  // The clock stands still: three calls in the burst, then refusals.
  for (int i = 0; i < 3; ++i) {
    CHECK(list(DaemonFixture::kAdminToken).ok());
  }
  const grpc::Status refused = list(DaemonFixture::kAdminToken);
  CHECK(refused.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK_THAT(refused.error_message(), Catch::Contains("requests_per_second"));
  CHECK(list(DaemonFixture::kAdminToken).error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Another credential has its own bucket (the supervisor's token is not an admin's: refused
  // for that, not for the rate).
  CHECK(list(DaemonFixture::kSupervisorToken).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  // Two seconds later, two more.
  time->Advance(routing::Millis(2'000));
  CHECK(list(DaemonFixture::kAdminToken).ok());
  CHECK(list(DaemonFixture::kAdminToken).ok());
  CHECK(list(DaemonFixture::kAdminToken).error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
}

// A gateway sending refused events and malformed command results as fast as it can: hotlined
// logs a line per 10 s of each, with the count, not a line per message (issue 10: one burst
// wrote 91 MB of log). Defect: every refused event was a warning line of its own.
TEST_CASE("a flood of refused events and ignored command results writes a line per interval",
          "[integration][hostile][limits]") {
  LogCapture log;
  auto time = std::make_shared<testing::ManualTime>();
  DaemonFixture f(nullptr, nullptr, time);
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  for (int i = 0; i < 100; ++i) {
    // Refused by the engine: no such call.
    gw.Event("ghost-" + std::to_string(i), [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
    // Refused by validation: a control character in the call id.
    gw.Event("bad\t" + std::to_string(i), [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
    v1::GatewayMessage result;
    result.mutable_command_result()->set_command_id("cmd\t" + std::to_string(i));
    result.mutable_command_result()->mutable_done();
    gw.Send(result);
  }
  for (int i = 0; i < 200; ++i) {
    CHECK(gw.WaitForAck().code() != 0);
  }
  // Read in order on one stream: once this is acknowledged, everything before it was handled.
  gw.Arrive("c-1", "38");
  REQUIRE(gw.WaitForAck().code() == 0);
  const auto count = [&](const std::string& what) {
    std::vector<std::string> found;
    for (const std::string& line : log.Lines()) {
      if (line.find(what) != std::string::npos) {
        found.push_back(line);
      }
    }
    return found;
  };
  CHECK(count("gateway 'gw-1' event").size() == 1);
  CHECK(count("command result that was ignored").size() == 1);

  // Ten seconds on, the next of each says how many went unlogged.
  time->Advance(routing::Millis(10'000));
  gw.Event("ghost-last", [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
  CHECK(gw.WaitForAck().code() != 0);
  v1::GatewayMessage result;
  result.mutable_command_result()->set_command_id("cmd\tlast");
  result.mutable_command_result()->mutable_done();
  gw.Send(result);
  gw.Arrive("c-2", "38");
  REQUIRE(gw.WaitForAck().code() == 0);
  const std::vector<std::string> refused = count("gateway 'gw-1' event");
  REQUIRE(refused.size() == 2);
  CHECK_THAT(refused[1], Catch::Contains("ghost-last") &&
                             Catch::Contains("(200 event(s) refused since the last such line)"));
  const std::vector<std::string> ignored = count("command result that was ignored");
  REQUIRE(ignored.size() == 2);
  CHECK_THAT(ignored[1], Catch::Contains("(100 ignored since the last such line)"));
}

// How many lines of the captured log contain `text`.
size_t CountLines(LogCapture& log, const std::string& text) {
  size_t n = 0;
  for (const std::string& line : log.Lines()) {
    n += line.find(text) != std::string::npos;
  }
  return n;
}

// Waits (up to the fixtures' patience) until `n` lines of the captured log contain `text`: for
// what the daemon does on a thread of its own, like noticing a stream dropped.
bool WaitForLines(LogCapture& log, const std::string& text, size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + testing::kPatience;
  while (CountLines(log, text) < n) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// What a gateway reads after its Hello up to the answer to an arrival of `last_call`: the call
// ids of the commands of `kind` for other calls, in order.
std::vector<std::string> CommandsBefore(GatewayClient& gw, v1::Command::KindCase kind,
                                        const std::string& last_call) {
  std::vector<std::string> calls;
  // An event id of its own: a new GatewayClient numbers its events from 1 again, and a known
  // event id is answered from memory, not handled.
  const std::string last_event = "arrival-of-" + last_call;
  v1::GatewayMessage arrival;
  arrival.mutable_event()->set_event_id(last_event);
  arrival.mutable_event()->set_call_id(last_call);
  *arrival.mutable_event()->mutable_arrived() = Arrival("38", "+84912345777");
  gw.Send(arrival);
  const auto end = gw.WaitFor([&](const v1::HotlineMessage& m) {
    if (m.has_command() && m.command().kind_case() == kind && m.command().call_id() != last_call) {
      calls.push_back(m.command().call_id());
    }
    return m.has_ack() && m.ack().event_id() == last_event;
  });
  CHECK(end.ack().code() == 0);
  return calls;
}

// [limits] undelivered_commands / undelivered_command_ms: commands for a gateway that is away
// wait for its Hello, at most that many per gateway (the oldest dropped first) and no older than
// that; a connect is never lost to it: the Hello's reconciliation asks again for a CONNECTING
// call whose connect is not waiting.
TEST_CASE("commands for an absent gateway are capped and expire and a connect still goes out",
          "[integration][hostile][limits]") {
  LogCapture log;
  auto time = std::make_shared<testing::ManualTime>();
  DaemonFixture f(
      [](daemon::Config& c) {
        c.limits.undelivered_commands = 2;
        c.limits.undelivered_command_ms = 5'000;
      },
      nullptr, time);
  // Returns once everything the daemon decided before has been carried out: a command goes to
  // its gateway (or waits, stamped with the time) only once what caused it is committed, and an
  // administrator's change is answered after its own commit, in order.
  int settled = 0;
  const auto settle = [&] { f.AddCounsellor("settle-" + std::to_string(++settled), "01"); };
  v1::Hello hello = GatewayClient::HelloFor("gw-1");
  {
    GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
    gw.WaitForWelcome();
    for (const char* call : {"c-1", "c-2", "c-3"}) {
      gw.Arrive(call, "38");
      REQUIRE(gw.WaitForAck().code() == 0);
      hello.add_held_calls()->set_call_id(call);
    }
  }  // The stream drops.
  REQUIRE(WaitForLines(log, "gateway 'gw-1' disconnected", 1));

  // A minute on, each waiting caller is due an announcement: three commands, two kept.
  time->Advance(routing::Millis(60'000));
  settle();
  {
    GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, hello);
    const v1::Welcome welcome = gw.WaitForWelcome();
    REQUIRE(welcome.held_calls_size() == 3);
    CHECK(CommandsBefore(gw, v1::Command::kAnnounce, "c-4") ==
          std::vector<std::string>{"c-2", "c-3"});
  }
  hello.add_held_calls()->set_call_id("c-4");

  // Away again: the next minute's announcements wait, then are older than 5 s when a counsellor
  // takes c-1, whose connect is queued too, and is past its age too when the gateway is back.
  REQUIRE(WaitForLines(log, "gateway 'gw-1' disconnected", 2));
  time->Advance(routing::Millis(60'000));
  settle();
  time->Advance(routing::Millis(6'000));
  SignedIn lan(f, "lan", "38");
  const v1::DeskEvent offer = lan.desk.WaitFor(testing::IsOffer);
  REQUIRE(offer.offer().call().call_id() == "c-1");
  REQUIRE(lan.desk.Answer("c-1", true).ok());
  settle();
  time->Advance(routing::Millis(6'000));

  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, hello);
  const v1::Welcome welcome = gw.WaitForWelcome();
  REQUIRE(welcome.held_calls_size() == 4);
  CHECK(welcome.held_calls(0).state() == v1::CALL_STATE_CONNECTING);
  // No stale announcement; the connect, expired too, asked again by the reconciliation.
  const std::vector<std::string> stale = CommandsBefore(gw, v1::Command::kAnnounce, "c-5");
  CAPTURE(stale);
  CHECK(stale.empty());
  const v1::Command connect = gw.WaitForCommand(v1::Command::kConnect);
  CHECK(connect.call_id() == "c-1");
  CHECK(connect.connect().counsellor_id() == "lan");
}

// A connect that waited for an absent gateway and timed out meanwhile is not sent when the
// gateway comes back: the call is no longer that counsellor's, and ringing them would bridge the
// caller to someone Hotline has given other work.
TEST_CASE("a connect that timed out while its gateway was away is not sent when it comes back",
          "[integration][hostile]") {
  LogCapture log;
  auto time = std::make_shared<testing::ManualTime>();
  DaemonFixture f(
      [](daemon::Config& c) {
        c.engine.connect_timeout_ms = routing::Millis(5'000);
        c.engine.offer_timeout_ms = routing::Millis(60'000);
      },
      nullptr, time);
  SignedIn an(f, "an", "38");
  SignedIn binh(f, "binh", "38");
  v1::Hello hello = GatewayClient::HelloFor("gw-1");
  {
    GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
    gw.WaitForWelcome();
    gw.Arrive("c-1", "38");
    REQUIRE(gw.WaitForAck().code() == 0);
    hello.add_held_calls()->set_call_id("c-1");
    REQUIRE(an.desk.WaitFor(testing::IsOffer).offer().call().call_id() == "c-1");
  }  // The stream drops.
  REQUIRE(WaitForLines(log, "gateway 'gw-1' disconnected", 1));
  REQUIRE(an.desk.Answer("c-1", true).ok());  // The connect waits for the gateway.
  time->Advance(routing::Millis(5'000));      // And times out: c-1 goes to binh.
  REQUIRE(binh.desk.WaitFor(testing::IsOffer).offer().call().call_id() == "c-1");

  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, hello);
  const v1::Welcome welcome = gw.WaitForWelcome();
  REQUIRE(welcome.held_calls_size() == 1);
  CHECK(welcome.held_calls(0).state() == v1::CALL_STATE_OFFERED);
  REQUIRE(binh.desk.Answer("c-1", true).ok());
  // Regression: an's connect, stale, went out right after the Welcome, ahead of binh's.
  const v1::Command connect = gw.WaitForCommand(v1::Command::kConnect);
  CHECK(connect.call_id() == "c-1");
  CHECK(connect.connect().counsellor_id() == "binh");
}

}  // namespace
}  // namespace hotline
