// The supervisors' live queue (supervisor.proto WatchQueue and GET /api/queue/events): a full
// view, then numbered changes; resume; the bounded view; a watcher that stops reading. Through the
// real daemon, on a manual clock.
#include <httplib.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "daemon/queue_feed.h"
#include "tests/testing/daemon_fixture.h"
#include "tests/testing/manual_time.h"

namespace hotline {
namespace {

using testing::DaemonFixture;
using testing::GatewayClient;
using testing::ManualTime;
using testing::SignedIn;
namespace v1 = ::hotline::v1;
using namespace std::chrono_literals;

// One WatchQueue stream, read when the test asks.
class Watcher {
 public:
  explicit Watcher(DaemonFixture& f, const std::string& epoch = "", uint64_t after = 0,
                   std::shared_ptr<grpc::Channel> channel = nullptr)
      : stub_(v1::SupervisorService::NewStub(channel ? channel : f.channel)) {
    testing::Authorize(ctx_, DaemonFixture::kSupervisorToken);
    v1::WatchQueueRequest request;
    request.set_epoch(epoch);
    request.set_after(after);
    reader_ = stub_->WatchQueue(&ctx_, request);
  }
  ~Watcher() { ctx_.TryCancel(); }

  v1::QueueUpdate Next() {
    v1::QueueUpdate update;
    REQUIRE(reader_->Read(&update));
    return update;
  }

  // Reads until an update satisfies `match`, checking that the numbers follow on.
  v1::QueueUpdate Until(const std::function<bool(const v1::QueueUpdate&)>& match) {
    for (int i = 0; i < 100'000; ++i) {
      v1::QueueUpdate u = Next();
      if (last_ != 0 && u.has_change()) {
        CHECK(u.sequence() == last_ + 1);
      }
      last_ = u.sequence();
      if (match(u)) {
        return u;
      }
    }
    FAIL("no matching update");
    return {};
  }

  grpc::Status Finish() { return reader_->Finish(); }

 private:
  std::unique_ptr<v1::SupervisorService::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::QueueUpdate>> reader_;
  uint64_t last_ = 0;
};

bool Lists(const v1::QueueChange& change, const std::string& call_id) {
  for (const auto& c : change.calls()) {
    if (c.summary().call_id() == call_id) {
      return true;
    }
  }
  return false;
}

bool Removes(const v1::QueueChange& change, const std::string& call_id) {
  for (const auto& id : change.removed_calls()) {
    if (id == call_id) {
      return true;
    }
  }
  return false;
}

bool HasAlert(const v1::QueueSummary& s, v1::Alert::Kind kind) {
  for (const auto& a : s.alerts()) {
    if (a.kind() == kind) {
      return true;
    }
  }
  return false;
}

struct Manual {
  explicit Manual(const std::function<void(daemon::Config&)>& adjust = {}) : f(adjust, nullptr, time) {}
  std::shared_ptr<ManualTime> time = std::make_shared<ManualTime>();
  DaemonFixture f;
};

TEST_CASE("a watcher gets a full view, then numbered changes of only what changed") {
  Manual m;
  GatewayClient gw(m.f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  gw.Arrive("c-1", "01");
  CHECK(gw.WaitForAck().code() == 0);

  Watcher w(m.f);
  const v1::QueueUpdate first = w.Next();
  REQUIRE(first.has_view());
  CHECK(!first.epoch().empty());
  REQUIRE(first.view().calls_size() == 1);
  CHECK(first.view().calls(0).summary().call_id() == "c-1");
  CHECK(first.view().calls(0).position() == 1);

  gw.Arrive("c-2", "01", v1::PRIORITY_EMERGENCY);
  CHECK(gw.WaitForAck().code() == 0);
  const v1::QueueUpdate change = w.Next();
  REQUIRE(change.has_change());
  CHECK(change.epoch() == first.epoch());
  CHECK(change.sequence() == first.sequence() + 1);
  // Only the new call: the first one's place changed, which a watcher works out itself.
  REQUIRE(change.change().calls_size() == 1);
  CHECK(change.change().calls(0).summary().call_id() == "c-2");
  CHECK(change.change().calls(0).summary().priority() == v1::PRIORITY_EMERGENCY);
  CHECK(change.change().calls(0).admission() > first.view().calls(0).admission());

  SECTION("a call that ends leaves the view") {
    gw.Event("c-1", [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
    CHECK(gw.WaitForAck().code() == 0);
    const v1::QueueUpdate gone = w.Next();
    REQUIRE(gone.has_change());
    CHECK(gone.sequence() == change.sequence() + 1);
    CHECK(Removes(gone.change(), "c-1"));
    CHECK(gone.change().calls_size() == 0);
  }

  SECTION("a counsellor signing in is a change of that counsellor") {
    SignedIn alice(m.f, "alice", "01");
    const v1::QueueUpdate signed_in = w.Until([](const v1::QueueUpdate& u) {
      for (const auto& c : u.change().counsellors()) {
        if (c.counsellor_id() == "alice" && c.state() == v1::COUNSELLOR_STATE_RESERVED) {
          return true;
        }
      }
      return false;
    });
    // She is offered the emergency, which is then ringing on her desk.
    bool offered = false;
    for (const auto& c : signed_in.change().calls()) {
      offered |= c.summary().call_id() == "c-2" && c.state() == v1::CALL_STATE_OFFERED;
    }
    CHECK(offered);
  }

  SECTION("the summary comes once a second, when it changed") {
    m.time->Advance(1s);
    const v1::QueueUpdate s = w.Until([](const v1::QueueUpdate& u) {
      return u.has_change() && u.change().has_summary();
    });
    CHECK(s.change().summary().waiting_total() == 2);
    CHECK(s.change().summary().storage_serving());
    // The emergency has waited 1 s: no alert before 10 s (but nobody speaks its language).
    CHECK(!HasAlert(s.change().summary(), v1::Alert::EMERGENCY_WAITING));
    CHECK(HasAlert(s.change().summary(), v1::Alert::LANGUAGE_UNCOVERED));
    m.time->Advance(10s);
    const v1::QueueUpdate late = w.Until([](const v1::QueueUpdate& u) {
      return u.has_change() && u.change().has_summary() &&
             HasAlert(u.change().summary(), v1::Alert::EMERGENCY_WAITING);
    });
    REQUIRE(late.change().summary().alerts_size() >= 1);
    CHECK(late.change().summary().alerts(0).kind() == v1::Alert::EMERGENCY_WAITING);
    CHECK(late.change().summary().alerts(0).call_id() == "c-2");
  }
}

TEST_CASE("a watcher who joins gets the summary as it is now, not as the feed last sent it") {
  // The summary goes to watchers once a second; a view sent in between carried the last one
  // sent, however old, while its calls were current. A supervisor's one-off view (hotlinectl,
  // a page load) could count 1,494 waiting calls beside a list of 2,000.
  Manual m;  // The daemon's clock stands still: no summary tick in this test.
  GatewayClient gw(m.f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  gw.Arrive("c-1", "01");
  CHECK(gw.WaitForAck().code() == 0);
  Watcher first(m.f);
  const v1::QueueUpdate view = first.Next();
  REQUIRE(view.has_view());
  CHECK(view.view().summary().waiting_total() == 1);

  gw.Arrive("c-2", "01");
  CHECK(gw.WaitForAck().code() == 0);
  first.Until([](const v1::QueueUpdate& u) { return u.has_change() && Lists(u.change(), "c-2"); });

  Watcher second(m.f);
  const v1::QueueUpdate joined = second.Next();
  REQUIRE(joined.has_view());
  CHECK(joined.view().calls_size() == 2);
  CHECK(joined.view().summary().waiting_total() == 2);
}

TEST_CASE("a watcher resumes after the last update it applied") {
  Manual m;
  GatewayClient gw(m.f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  std::string epoch;
  uint64_t seen = 0;
  {
    Watcher w(m.f);
    const v1::QueueUpdate view = w.Next();
    epoch = view.epoch();
    gw.Arrive("c-1", "01");
    CHECK(gw.WaitForAck().code() == 0);
    seen = w.Until([](const v1::QueueUpdate& u) { return Lists(u.change(), "c-1"); }).sequence();
  }
  // Changes while it was away, with another watcher keeping the feed going.
  Watcher other(m.f);
  other.Next();
  gw.Arrive("c-2", "01");
  CHECK(gw.WaitForAck().code() == 0);
  other.Until([](const v1::QueueUpdate& u) { return Lists(u.change(), "c-2"); });

  SECTION("with the same epoch it gets exactly what it missed") {
    Watcher back(m.f, epoch, seen);
    const v1::QueueUpdate next = back.Next();
    REQUIRE(next.has_change());
    CHECK(next.sequence() == seen + 1);
    CHECK(Lists(next.change(), "c-2"));
  }
  SECTION("from another epoch (a restart) or an unknown number it gets a full view") {
    Watcher stranger(m.f, "another-epoch", seen);
    CHECK(stranger.Next().has_view());
    Watcher ahead(m.f, epoch, seen + 1000);
    CHECK(ahead.Next().has_view());
  }
  SECTION("after a restart the epoch changes") {
    m.f.Restart();
    Watcher back(m.f, epoch, seen);
    const v1::QueueUpdate u = back.Next();
    REQUIRE(u.has_view());
    CHECK(u.epoch() != epoch);
    CHECK(u.view().calls_size() == 2);
  }
}

TEST_CASE("a view lists the first view_calls waiting calls and counts the rest") {
  Manual m([](daemon::Config& c) { c.view_calls = 3; });
  GatewayClient gw(m.f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  for (int i = 1; i <= 5; ++i) {
    gw.Arrive("n-" + std::to_string(i), "01");
    CHECK(gw.WaitForAck().code() == 0);
  }
  gw.Arrive("e-1", "01", v1::PRIORITY_EMERGENCY);
  CHECK(gw.WaitForAck().code() == 0);
  gw.Arrive("x-1", "not-a-province");
  CHECK(gw.WaitForAck().code() == 0);

  Watcher w(m.f);
  const v1::QueueUpdate u = w.Next();
  REQUIRE(u.has_view());
  REQUIRE(u.view().calls_size() == 3);
  CHECK(u.view().calls(0).summary().call_id() == "e-1");  // Emergencies first.
  CHECK(u.view().calls(1).summary().call_id() == "n-1");
  CHECK(u.view().calls(2).summary().call_id() == "n-2");
  const v1::QueueSummary& s = u.view().summary();
  CHECK(s.waiting_total() == 7);
  CHECK(s.waiting_not_listed() == 4);
  int counted = 0;
  bool unknown_group = false;
  for (const v1::WaitingGroup& g : s.waiting()) {
    counted += g.count();
    if (g.province() == "01") {
      CHECK(!g.centre().empty());
    }
    unknown_group |= g.province().empty() && g.count() == 1;
  }
  CHECK(counted == 7);
  CHECK(unknown_group);  // A code outside the region tree is counted apart, never dropped.

  SECTION("when a listed call leaves, the next one enters the view") {
    gw.Event("e-1", [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
    CHECK(gw.WaitForAck().code() == 0);
    const v1::QueueUpdate c = w.Next();
    REQUIRE(c.has_change());
    CHECK(Removes(c.change(), "e-1"));
    CHECK(Lists(c.change(), "n-3"));
  }
}

// /proc/self/status VmRSS in kB.
long ResidentKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stol(line.substr(6));
    }
  }
  return 0;
}

TEST_CASE("a watcher that stops reading while 10,000 calls arrive holds the daemon up in nothing") {
  // The most calls a view lists, so the first thousand arrivals are a change each.
  // (And room for all 10,000: above [limits] max_waiting_calls' default.)
  Manual m([](daemon::Config& c) {
    c.view_calls = 1000;
    c.limits.max_waiting_calls = 20'000;
  });
  // A client that reads nothing: flow control stops the daemon's writes after a few kilobytes.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 4096);
  auto slow_channel = grpc::CreateCustomChannel(
      "127.0.0.1:" + std::to_string(m.f.daemon->grpc_port()), grpc::InsecureChannelCredentials(),
      args);
  Watcher paused(m.f, "", 0, slow_channel);
  Watcher paused_too(m.f, "", 0, slow_channel);
  GatewayClient gw(m.f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  const long before_kb = ResidentKb();

  constexpr int kCalls = 10'000;
  // The engine publishes one change per wake-up, however many inputs it took in it: the first
  // arrivals go one at a time (each acknowledged before the next), a change each, until far past
  // what a watcher may hold unread (kPendingPerWatcher); the rest in flights of 200.
  constexpr int kAlone = 2 * static_cast<int>(daemon::kPendingPerWatcher) + 100;
  for (int sent = 0; sent < kCalls;) {
    // Every one is acknowledged while nobody reads the views.
    const int flight = std::min(sent < kAlone ? 1 : 200, kCalls - sent);
    for (int i = 0; i < flight; ++i) {
      gw.Arrive("c-" + std::to_string(sent + i), "01");
    }
    for (int i = 0; i < flight; ++i) {
      REQUIRE(gw.WaitForAck().code() == 0);
    }
    sent += flight;
  }
  const long grown_kb = ResidentKb() - before_kb;
  INFO("resident memory grew by " << grown_kb << " kB");
  // The engine keeps 10,000 waiting calls (a few kB each); a backlog of views would be far more.
#if defined(__SANITIZE_ADDRESS__)
  // Not under AddressSanitizer (deploy/test --sanitize): it pads every allocation and keeps freed
  // memory in quarantine (up to 256 MB), so resident memory says nothing about the daemon's. The
  // rest of the test still runs there.
  (void)grown_kb;
#else
  CHECK(grown_kb < 200'000);
#endif

  // Once it reads again it gets what was in flight, then a full view that stands for all it
  // missed, then numbered changes from that view on.
  const v1::QueueUpdate first = paused.Next();
  REQUIRE(first.has_view());  // The view it was sent on opening.
  gw.Arrive("marker", "01", v1::PRIORITY_EMERGENCY);
  CHECK(gw.WaitForAck().code() == 0);
  int updates = 0;
  int fresh_views = 0;
  uint64_t last = first.sequence();
  bool numbered = true;
  for (;;) {
    const v1::QueueUpdate u = paused.Next();
    ++updates;
    if (u.has_view()) {
      ++fresh_views;
      CHECK(u.view().calls_size() == 1000);  // Bounded: the first 1,000 waiting.
    } else {
      // Changes follow on from what the watcher holds: never a change after a gap.
      numbered &= u.sequence() == last + 1;
    }
    last = u.sequence();
    const bool marker = u.has_view() ? u.view().calls(0).summary().call_id() == "marker"
                                     : Lists(u.change(), "marker");
    if (marker) {
      break;
    }
  }
  INFO("updates read after resuming: " << updates << ", fresh views: " << fresh_views);
  CHECK(numbered);
  CHECK(fresh_views >= 1);
  CHECK(updates < kCalls / 2);  // The backlog was dropped, not kept.
}

// --- The web page's event stream. ---

TEST_CASE("GET /api/queue/events streams the same updates as server-sent events") {
  Manual m([](daemon::Config& c) { c.max_web_views = 1; });
  GatewayClient gw(m.f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  gw.Arrive("c-1", "01", v1::PRIORITY_EMERGENCY);
  CHECK(gw.WaitForAck().code() == 0);
  httplib::Client http("127.0.0.1", m.f.daemon->http_port());
  http.set_read_timeout(10, 0);

  SECTION("without the supervisor token: 401, in words") {
    auto res = http.Get("/api/queue/events", {{"Authorization", "Bearer test-admin"}});
    REQUIRE(res);
    CHECK(res->status == 401);
    CHECK(res->body.find("supervisor token") != std::string::npos);
  }

  SECTION("with the scheme in lower case (RFC 7235: any case): served") {
    std::string received;
    int status = 0;
    auto res = http.Get(
        "/api/queue/events", {{"Authorization", "bearer  test-supervisor"}},
        [&](const httplib::Response& r) {
          status = r.status;
          return true;
        },
        [&](const char* data, size_t size) {
          received.append(data, size);
          return received.find("\"view\"") == std::string::npos;  // Stop at the view.
        });
    CHECK(status == 200);  // Regression: 401 for anything but "Bearer ".
    CHECK(received.find("\"callId\":\"c-1\"") != std::string::npos);
  }

  SECTION("with it: an event with the view as JSON, then changes") {
    std::string received;
    bool second_page_refused = false;
    auto res = http.Get(
        "/api/queue/events", {{"Authorization", "Bearer test-supervisor"}},
        [&](const httplib::Response& r) {
          CHECK(r.status == 200);
          CHECK(r.get_header_value("Content-Type") == "text/event-stream");
          return true;
        },
        [&](const char* data, size_t size) {
          received.append(data, size);
          if (received.find("\"view\"") != std::string::npos &&
              received.find("c-2") == std::string::npos && !second_page_refused) {
            // One page at most: a second gets 503 while this one is open.
            httplib::Client other("127.0.0.1", m.f.daemon->http_port());
            auto refused =
                other.Get("/api/queue/events", {{"Authorization", "Bearer test-supervisor"}});
            second_page_refused = refused && refused->status == 503;
            gw.Arrive("c-2", "01");
          }
          return received.find("c-2") == std::string::npos;  // Stop once the change came.
        });
    CHECK(second_page_refused);
    CHECK(received.rfind("id: ", 0) == 0);
    CHECK(received.find("event: update\ndata: {") != std::string::npos);
    CHECK(received.find("\"callId\":\"c-1\"") != std::string::npos);
    CHECK(received.find("\"priority\":\"PRIORITY_EMERGENCY\"") != std::string::npos);
    CHECK(received.find("\"change\"") != std::string::npos);
  }
}

// Its own daemon: a page closed by its client holds its slot until the daemon next writes to it,
// so the resume must not depend on the one-page bound above.
TEST_CASE("GET /api/queue/events resumes from Last-Event-ID") {
  Manual m;
  GatewayClient gw(m.f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  gw.Arrive("c-1", "01");
  CHECK(gw.WaitForAck().code() == 0);
  httplib::Client http("127.0.0.1", m.f.daemon->http_port());
  http.set_read_timeout(10, 0);
  std::string first;
  http.Get(
      "/api/queue/events", {{"Authorization", "Bearer test-supervisor"}},
      [&](const char* data, size_t size) {
        first.append(data, size);
        return first.find("\n\n") == std::string::npos;
      });
  const std::string id = first.substr(4, first.find('\n') - 4);  // "epoch:sequence"
  gw.Arrive("c-2", "01");
  CHECK(gw.WaitForAck().code() == 0);
  std::string resumed;
  http.Get(
      "/api/queue/events",
      {{"Authorization", "Bearer test-supervisor"}, {"Last-Event-ID", id}},
      [&](const char* data, size_t size) {
        resumed.append(data, size);
        return resumed.find("\n\n") == std::string::npos;
      });
  // The first event after the resume is the change it missed, not a view.
  CHECK(resumed.find("\"change\"") != std::string::npos);
  CHECK(resumed.find("\"view\"") == std::string::npos);
  CHECK(resumed.find("c-2") != std::string::npos);
}

}  // namespace
}  // namespace hotline

namespace hotline {
namespace {

// The dead end of a counsellor who is signed in and cannot be removed: a supervisor signs them
// out, an admin removes them, and their desk, still open, is closed; the token stops working.
TEST_CASE("a supervisor signs out a counsellor whose desk is open, and an admin removes them") {
  DaemonFixture f;
  SignedIn lan(f, "lan", "01");
  auto admin_remove = [&] {
    grpc::ClientContext ctx;
    testing::Authorize(ctx, DaemonFixture::kAdminToken);
    v1::RemoveCounsellorRequest req;
    req.set_counsellor_id("lan");
    v1::RemoveCounsellorResponse resp;
    return f.admin->RemoveCounsellor(&ctx, req, &resp);
  };
  const grpc::Status early = admin_remove();
  CHECK(early.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(early.error_message(), Catch::Contains("hotlinectl presence lan offline"));

  auto supervisor = v1::SupervisorService::NewStub(f.channel);
  grpc::ClientContext ctx;
  testing::Authorize(ctx, DaemonFixture::kSupervisorToken);
  v1::SetCounsellorPresenceRequest req;
  req.set_request_id("sign-out-1");
  req.set_counsellor_id("lan");
  req.set_state(v1::COUNSELLOR_STATE_OFFLINE);
  v1::SetCounsellorPresenceResponse resp;
  REQUIRE(supervisor->SetCounsellorPresence(&ctx, req, &resp).ok());
  CHECK(resp.status().state() == v1::COUNSELLOR_STATE_OFFLINE);
  CHECK(resp.status().desk_connected());
  lan.desk.WaitForState(v1::COUNSELLOR_STATE_OFFLINE);

  const grpc::Status removed = admin_remove();
  INFO(removed.error_message());
  REQUIRE(removed.ok());
  lan.desk.WaitForEnd();
  CHECK(lan.desk.final_status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK_THAT(lan.desk.final_status.error_message(), Catch::Contains("was removed"));
  // The token is nobody's now.
  testing::DeskClient again(f.channel, lan.token);
  again.WaitForEnd();
  CHECK(again.final_status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(f.View().counsellors_size() == 0);
}

}  // namespace
}  // namespace hotline
