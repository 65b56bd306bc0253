// Authorization through the real daemon and real gRPC clients: every RPC of every service called
// with every kind of credential, each answer checked against the role matrix of docs/security.md
// (read from that file, so the document and the daemon cannot drift apart); revocation and
// rotation closing open streams at once; gateway credentials bound to their gateway id.
#include <httplib.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "daemon/accounts.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/testing/daemon_fixture.h"
#include "tests/testing/manual_time.h"
#include "tests/testing/metrics_text.h"

namespace hotline {
namespace {

using testing::DaemonFixture;
using testing::GatewayClient;
namespace v1 = ::hotline::v1;
using namespace std::chrono_literals;

// --- The matrix, as docs/security.md writes it. ---

using Matrix = std::map<std::string, std::map<std::string, std::string>>;  // row -> column -> cell

std::string Trim(absl::string_view s) {
  return std::string(absl::StripAsciiWhitespace(s));
}

// The table between <!-- role-matrix:begin --> and <!-- role-matrix:end -->.
Matrix ReadMatrix(std::vector<std::string>& columns) {
  std::ifstream in(std::string(HOTLINE_SOURCE_DIR) + "/docs/security.md");
  REQUIRE(in);
  std::string line;
  bool inside = false;
  Matrix matrix;
  columns.clear();
  while (std::getline(in, line)) {
    if (line.find("<!-- role-matrix:begin -->") != std::string::npos) {
      inside = true;
      continue;
    }
    if (line.find("<!-- role-matrix:end -->") != std::string::npos) {
      break;
    }
    if (!inside || line.empty() || line[0] != '|' || line.starts_with("|---")) {
      continue;
    }
    std::vector<std::string> cells;
    for (absl::string_view cell : absl::StrSplit(line, '|')) {
      cells.push_back(Trim(cell));
    }
    // "| a | b |" splits into "", "a", "b", "".
    cells = std::vector<std::string>(cells.begin() + 1, cells.end() - 1);
    if (columns.empty()) {
      columns.assign(cells.begin() + 1, cells.end());
      continue;
    }
    REQUIRE(cells.size() == columns.size() + 1);
    for (size_t i = 0; i < columns.size(); ++i) {
      matrix[cells[0]][columns[i]] = cells[i + 1];
    }
  }
  return matrix;
}

std::string Outcome(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    default:
      return "allowed";  // Past authorization: the RPC's own answer.
  }
}

// --- One call of each RPC, with a token (empty: no metadata), answering its status code. ---

using Call = std::function<grpc::StatusCode(const std::string& token)>;

void Prepare(grpc::ClientContext& ctx, const std::string& token) {
  if (!token.empty()) {
    testing::Authorize(ctx, token);
  }
  ctx.set_deadline(std::chrono::system_clock::now() + testing::kPatience);
}

template <class Stub, class Request, class Response>
Call Unary(std::shared_ptr<grpc::Channel> channel,
           grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
           Request request = Request()) {
  return [channel, method, request](const std::string& token) {
    grpc::ClientContext ctx;
    Prepare(ctx, token);
    Stub stub(channel);
    Response response;
    return (stub.*method)(&ctx, request, &response).error_code();
  };
}

// A server stream: OK once its first message came (then cancelled), else how it ended.
template <class Stub, class Request, class Out>
Call Streaming(std::shared_ptr<grpc::Channel> channel,
               std::unique_ptr<grpc::ClientReader<Out>> (Stub::*method)(grpc::ClientContext*,
                                                                        const Request&)) {
  return [channel, method](const std::string& token) {
    grpc::ClientContext ctx;
    Prepare(ctx, token);
    Stub stub(channel);
    auto reader = (stub.*method)(&ctx, Request());
    Out first;
    if (reader->Read(&first)) {
      ctx.TryCancel();
      reader->Finish();
      return grpc::StatusCode::OK;
    }
    return reader->Finish().error_code();
  };
}

// GatewayService.Connect saying Hello as `gateway_id`: OK once the Welcome came.
grpc::StatusCode Connect(std::shared_ptr<grpc::Channel> channel, const std::string& token,
                         const std::string& gateway_id) {
  grpc::ClientContext ctx;
  Prepare(ctx, token);
  auto stub = v1::GatewayService::NewStub(channel);
  auto stream = stub->Connect(&ctx);
  v1::GatewayMessage hello;
  *hello.mutable_hello() = testing::HelloFor(gateway_id);
  stream->Write(hello);
  v1::HotlineMessage first;
  if (stream->Read(&first) && first.has_welcome()) {
    ctx.TryCancel();
    stream->Finish();
    return grpc::StatusCode::OK;
  }
  return stream->Finish().error_code();
}

std::string Issue(DaemonFixture& f, const std::string& admin_token, const std::string& name,
                  v1::AccountRole role, const std::string& gateway_id = "") {
  grpc::ClientContext ctx;
  testing::Authorize(ctx, admin_token);
  v1::IssueTokenRequest request;
  request.set_name(name);
  request.set_role(role);
  request.set_gateway_id(gateway_id);
  v1::IssueTokenResponse response;
  const grpc::Status s = f.admin->IssueToken(&ctx, request, &response);
  INFO(s.error_message());
  REQUIRE(s.ok());
  CHECK(response.token().size() == 64);
  return response.token();
}

std::string Rotate(DaemonFixture& f, const std::string& name) {
  grpc::ClientContext ctx;
  testing::Authorize(ctx, DaemonFixture::kAdminToken);
  v1::RotateTokenRequest request;
  request.set_name(name);
  v1::RotateTokenResponse response;
  const grpc::Status s = f.admin->RotateToken(&ctx, request, &response);
  INFO(s.error_message());
  REQUIRE(s.ok());
  return response.token();
}

void Revoke(DaemonFixture& f, const std::string& name) {
  grpc::ClientContext ctx;
  testing::Authorize(ctx, DaemonFixture::kAdminToken);
  v1::RevokeTokenRequest request;
  request.set_name(name);
  v1::RevokeTokenResponse response;
  const grpc::Status s = f.admin->RevokeToken(&ctx, request, &response);
  INFO(s.error_message());
  REQUIRE(s.ok());
  CHECK(response.account().has_revoked_at());
}

std::string RotateDesk(DaemonFixture& f, const std::string& id) {
  grpc::ClientContext ctx;
  testing::Authorize(ctx, DaemonFixture::kAdminToken);
  v1::RotateCounsellorTokenRequest request;
  request.set_counsellor_id(id);
  v1::RotateCounsellorTokenResponse response;
  const grpc::Status s = f.admin->RotateCounsellorToken(&ctx, request, &response);
  INFO(s.error_message());
  REQUIRE(s.ok());
  return response.token();
}

grpc::Status RemoveCounsellor(DaemonFixture& f, const std::string& id, bool sign_out) {
  grpc::ClientContext ctx;
  testing::Authorize(ctx, DaemonFixture::kAdminToken);
  v1::RemoveCounsellorRequest request;
  request.set_counsellor_id(id);
  request.set_sign_out(sign_out);
  v1::RemoveCounsellorResponse response;
  return f.admin->RemoveCounsellor(&ctx, request, &response);
}

// The role a row's RPC is for: what its `revoked` and `rotated` columns use.
std::string RowRole(const std::string& row) {
  if (row.starts_with("GatewayService.")) {
    return "gateway";
  }
  if (row.starts_with("DeskService.")) {
    return "desk";
  }
  if (row.starts_with("AdminService.")) {
    return "admin";
  }
  return "supervisor";
}

// Every credential of the matrix, made on a fresh daemon.
struct Credentials {
  // role -> token, for the valid columns.
  std::map<std::string, std::string> valid;
  std::map<std::string, std::string> revoked;  // role -> a revoked token of that role
  std::map<std::string, std::string> rotated;  // role -> a rotated-out token of that role
  std::map<std::string, std::string> gateway_id;  // token -> its own gateway id
};

Credentials MakeCredentials(DaemonFixture& f) {
  Credentials c;
  const std::string admin = DaemonFixture::kAdminToken;
  c.valid["gateway"] = Issue(f, admin, "gw-a", v1::ACCOUNT_ROLE_GATEWAY, "gw-a");
  c.valid["supervisor"] = Issue(f, admin, "sup-a", v1::ACCOUNT_ROLE_SUPERVISOR);
  c.valid["admin"] = Issue(f, admin, "adm-a", v1::ACCOUNT_ROLE_ADMIN);
  c.valid["desk"] = f.AddCounsellor("desk-a", "01");
  c.gateway_id[c.valid["gateway"]] = "gw-a";

  c.revoked["gateway"] = Issue(f, admin, "gw-rev", v1::ACCOUNT_ROLE_GATEWAY, "gw-rev");
  c.revoked["supervisor"] = Issue(f, admin, "sup-rev", v1::ACCOUNT_ROLE_SUPERVISOR);
  c.revoked["admin"] = Issue(f, admin, "adm-rev", v1::ACCOUNT_ROLE_ADMIN);
  c.revoked["desk"] = f.AddCounsellor("desk-rev", "01");
  c.gateway_id[c.revoked["gateway"]] = "gw-rev";
  for (const char* name : {"gw-rev", "sup-rev", "adm-rev"}) {
    Revoke(f, name);
  }
  REQUIRE(RemoveCounsellor(f, "desk-rev", false).ok());

  c.rotated["gateway"] = Issue(f, admin, "gw-rot", v1::ACCOUNT_ROLE_GATEWAY, "gw-rot");
  c.rotated["supervisor"] = Issue(f, admin, "sup-rot", v1::ACCOUNT_ROLE_SUPERVISOR);
  c.rotated["admin"] = Issue(f, admin, "adm-rot", v1::ACCOUNT_ROLE_ADMIN);
  c.rotated["desk"] = f.AddCounsellor("desk-rot", "01");
  c.gateway_id[c.rotated["gateway"]] = "gw-rot";
  for (const char* name : {"gw-rot", "sup-rot", "adm-rot"}) {
    CHECK(Rotate(f, name).size() == 64);
  }
  CHECK(RotateDesk(f, "desk-rot") != c.rotated["desk"]);
  return c;
}

// Every RPC the daemon serves, by "Service.Method" as the matrix names it, plus the gateway row
// that says Hello as another gateway. `own_gateway(token)` is the gateway id a token's Hello
// names in the plain Connect row.
std::map<std::string, Call> Calls(std::shared_ptr<grpc::Channel> ch,
                                  std::function<std::string(const std::string&)> own_gateway) {
  using Admin = v1::AdminService::Stub;
  using Desk = v1::DeskService::Stub;
  using Sup = v1::SupervisorService::Stub;
  std::map<std::string, Call> calls;
  calls["GatewayService.Connect"] = [ch, own_gateway](const std::string& token) {
    return Connect(ch, token, own_gateway(token));
  };
  calls["GatewayService.Connect as another gateway"] = [ch](const std::string& token) {
    return Connect(ch, token, "gw-someone-else");
  };
  calls["DeskService.Watch"] = Streaming(ch, &Desk::Watch);
  calls["DeskService.SetPresence"] = Unary(ch, &Desk::SetPresence);
  calls["DeskService.AnswerOffer"] = Unary(ch, &Desk::AnswerOffer);
  calls["DeskService.SubmitDisposition"] = Unary(ch, &Desk::SubmitDisposition);
  calls["DeskService.NeverRouteCaller"] = Unary(ch, &Desk::NeverRouteCaller);
  calls["DeskService.ShiftFigures"] = Unary(ch, &Desk::ShiftFigures);
  calls["SupervisorService.WatchQueue"] = Streaming(ch, &Sup::WatchQueue);
  calls["SupervisorService.SetCounsellorPresence"] = Unary(ch, &Sup::SetCounsellorPresence);
  calls["SupervisorService.ChangeCallPriority"] = Unary(ch, &Sup::ChangeCallPriority);
  calls["SupervisorService.EndCall"] = Unary(ch, &Sup::EndCall);
  calls["SupervisorService.NeverRouteCaller"] = Unary(ch, &Sup::NeverRouteCaller);
  calls["SupervisorService.ExplainCall"] = Unary(ch, &Sup::ExplainCall);
  calls["SupervisorService.Report"] = Unary(ch, &Sup::Report);
  calls["SupervisorService.ExportDispositions"] = Unary(ch, &Sup::ExportDispositions);
  calls["SupervisorService.ListCallbacks"] = Unary(ch, &Sup::ListCallbacks);
  calls["SupervisorService.RevealCallback"] = Unary(ch, &Sup::RevealCallback);
  calls["SupervisorService.CallbackDone"] = Unary(ch, &Sup::CallbackDone);
  calls["SupervisorService.ListAudit"] = Unary(ch, &Sup::ListAudit);
  calls["AdminService.CreateCounsellor"] = Unary(ch, &Admin::CreateCounsellor);
  calls["AdminService.UpdateCounsellor"] = Unary(ch, &Admin::UpdateCounsellor);
  calls["AdminService.ListCounsellors"] = Unary(ch, &Admin::ListCounsellors);
  calls["AdminService.RemoveCounsellor"] = Unary(ch, &Admin::RemoveCounsellor);
  calls["AdminService.ReloadPolicy"] = Unary(ch, &Admin::ReloadPolicy);
  calls["AdminService.IssueToken"] = Unary(ch, &Admin::IssueToken);
  calls["AdminService.RotateToken"] = Unary(ch, &Admin::RotateToken);
  calls["AdminService.RevokeToken"] = Unary(ch, &Admin::RevokeToken);
  calls["AdminService.ListAccounts"] = Unary(ch, &Admin::ListAccounts);
  calls["AdminService.RotateCounsellorToken"] = Unary(ch, &Admin::RotateCounsellorToken);
  calls["grpc.health.v1.Health.Check"] =
      Unary(ch, &grpc::health::v1::Health::Stub::Check);
  return calls;
}

// Runs the matrix's every row and column; `valid` overrides the tokens of the valid columns.
void CheckMatrix(DaemonFixture& f, const Credentials& c,
                 const std::map<std::string, std::string>& valid,
                 const std::set<std::string>& skip_rows = {}) {
  std::vector<std::string> columns;
  const Matrix matrix = ReadMatrix(columns);
  REQUIRE(columns == std::vector<std::string>{"none", "bad", "gateway", "desk", "supervisor",
                                               "admin", "revoked", "rotated"});
  const auto calls = Calls(f.channel, [&c](const std::string& token) {
    auto it = c.gateway_id.find(token);
    return it != c.gateway_id.end() ? it->second : std::string("gw-a");
  });
  // The table has a row for every call the test makes, and nothing else.
  std::set<std::string> rows;
  for (const auto& [row, cells] : matrix) {
    rows.insert(row);
  }
  std::set<std::string> made;
  for (const auto& [row, call] : calls) {
    made.insert(row);
  }
  CHECK(rows == made);
  const std::string bad(64, 'e');
  size_t checked = 0;
  for (const auto& [row, cells] : matrix) {
    if (skip_rows.contains(row) || !calls.contains(row)) {
      continue;
    }
    const std::string role = RowRole(row);
    for (const std::string& column : columns) {
      std::string token;
      if (column == "bad") {
        token = bad;
      } else if (column == "revoked") {
        token = c.revoked.at(role);
      } else if (column == "rotated") {
        token = c.rotated.at(role);
      } else if (column != "none") {
        token = valid.at(column);
      }
      INFO(row << " with the " << column << " credential");
      CHECK(Outcome(calls.at(row)(token)) == cells.at(column));
      ++checked;
    }
  }
  CHECK(checked >= 8 * 25);
}

TEST_CASE("every RPC answers every credential as the role matrix in docs/security.md says") {
  DaemonFixture f;
  const Credentials c = MakeCredentials(f);
  SECTION("named accounts") { CheckMatrix(f, c, c.valid); }
  SECTION("the config file tokens act as bootstrap accounts of their roles") {
    std::map<std::string, std::string> bootstrap = c.valid;
    bootstrap["gateway"] = DaemonFixture::kGatewayToken;
    bootstrap["supervisor"] = DaemonFixture::kSupervisorToken;
    bootstrap["admin"] = DaemonFixture::kAdminToken;
    // The shared config gateway token may say Hello as any gateway (loopback only): its row
    // differs, and is checked on its own.
    CheckMatrix(f, c, bootstrap, {"GatewayService.Connect as another gateway"});
    CHECK(Connect(f.channel, DaemonFixture::kGatewayToken, "gw-anyone") == grpc::StatusCode::OK);
  }
}

TEST_CASE("the role matrix lists every RPC of every hotline service") {
  std::vector<std::string> columns;
  const Matrix matrix = ReadMatrix(columns);
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  size_t methods = 0;
  for (const char* service : {"hotline.v1.GatewayService", "hotline.v1.DeskService",
                              "hotline.v1.SupervisorService", "hotline.v1.AdminService"}) {
    const auto* descriptor = pool->FindServiceByName(service);
    REQUIRE(descriptor != nullptr);
    for (int i = 0; i < descriptor->method_count(); ++i) {
      const std::string row = descriptor->name() + "." + descriptor->method(i)->name();
      INFO(row);
      CHECK(matrix.contains(row));
      ++methods;
    }
  }
  CHECK(methods == 29);
}

// --- Gateways bound to their id. ---

TEST_CASE("a token nobody has is refused in the same words by the desk as by the other roles") {
  DaemonFixture f;
  const std::string words = "authorization: missing or unknown bearer token";  // security.md
  {
    grpc::ClientContext ctx;
    Prepare(ctx, "no-such-token");
    v1::SetPresenceRequest req;
    req.set_request_id("r-1");
    req.set_state(v1::COUNSELLOR_STATE_AVAILABLE);
    v1::SetPresenceResponse resp;
    const grpc::Status s = v1::DeskService::NewStub(f.channel)->SetPresence(&ctx, req, &resp);
    CHECK(s.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    // Regression: "authorization: no valid counsellor bearer token".
    CHECK(s.error_message() == words);
  }
  {
    grpc::ClientContext ctx;
    Prepare(ctx, "no-such-token");
    auto reader = v1::DeskService::NewStub(f.channel)->Watch(&ctx, v1::WatchDeskRequest());
    v1::DeskEvent event;
    CHECK_FALSE(reader->Read(&event));
    const grpc::Status s = reader->Finish();
    CHECK(s.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(s.error_message() == words);
  }
  {
    grpc::ClientContext ctx;
    Prepare(ctx, "no-such-token");
    v1::ListCallbacksResponse resp;
    const grpc::Status s = v1::SupervisorService::NewStub(f.channel)->ListCallbacks(
        &ctx, v1::ListCallbacksRequest(), &resp);
    CHECK(s.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(s.error_message() == words);
  }
}

TEST_CASE("a gateway credential saying hello as another gateway is refused and the victim keeps its stream") {
  DaemonFixture f;
  const std::string a = Issue(f, DaemonFixture::kAdminToken, "gw-north",
                              v1::ACCOUNT_ROLE_GATEWAY, "gw-north");
  const std::string b = Issue(f, DaemonFixture::kAdminToken, "gw-south",
                              v1::ACCOUNT_ROLE_GATEWAY, "gw-south");
  GatewayClient victim(f.channel, a, "gw-north");
  victim.WaitForWelcome();
  victim.Arrive("c-1", "01");
  CHECK(victim.WaitForAck().code() == 0);

  grpc::ClientContext ctx;
  Prepare(ctx, b);
  auto stub = v1::GatewayService::NewStub(f.channel);
  auto stream = stub->Connect(&ctx);
  v1::GatewayMessage hello;
  *hello.mutable_hello() = testing::HelloFor("gw-north");  // Holds no call: would fail c-1.
  stream->Write(hello);
  v1::HotlineMessage m;
  CHECK_FALSE(stream->Read(&m));
  const grpc::Status refused = stream->Finish();
  CHECK(refused.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(refused.error_message().find("hello.gateway_id") != std::string::npos);
  CHECK(refused.error_message().find("gw-south") != std::string::npos);

  // The victim's stream and call are untouched: it still gets acks, c-1 still waits.
  victim.Arrive("c-2", "01");
  CHECK(victim.WaitForAck().code() == 0);
  bool c1_waiting = false;
  const v1::QueueView view = f.View();
  for (const auto& call : view.calls()) {
    c1_waiting = c1_waiting || call.summary().call_id() == "c-1";
  }
  CHECK(c1_waiting);
}

TEST_CASE("a command result from another gateway's credential changes nothing") {
  DaemonFixture f;
  const std::string a = Issue(f, DaemonFixture::kAdminToken, "gw-north",
                              v1::ACCOUNT_ROLE_GATEWAY, "gw-north");
  const std::string b = Issue(f, DaemonFixture::kAdminToken, "gw-south",
                              v1::ACCOUNT_ROLE_GATEWAY, "gw-south");
  testing::SignedIn an(f, "an", "38");
  GatewayClient north(f.channel, a, "gw-north");
  north.WaitForWelcome();
  GatewayClient south(f.channel, b, "gw-south");
  south.WaitForWelcome();
  north.Arrive("c-1", "38");
  REQUIRE(north.WaitForAck().code() == 0);
  an.desk.WaitFor([](const v1::DeskEvent& e) { return e.has_offer(); });
  REQUIRE(an.desk.Answer("c-1", true).ok());
  const v1::Command connect = north.WaitForCommand(v1::Command::kConnect);
  // South claims north's connect failed: ignored, the call stays An's.
  v1::GatewayMessage forged;
  forged.mutable_command_result()->set_command_id(connect.command_id());
  forged.mutable_command_result()->mutable_unreachable()->set_reason("busy tone");
  south.Send(forged);
  north.Done(connect);
  north.Event("c-1", [](v1::CallEvent& e) { e.mutable_connected(); });
  CHECK(north.WaitForAck().code() == 0);
  an.desk.WaitFor([](const v1::DeskEvent& e) { return e.has_call_connected(); });
}

// --- Revocation and rotation close open streams at once. ---

TEST_CASE("revoking a gateway account closes its open Connect stream with UNAUTHENTICATED") {
  DaemonFixture f;
  const std::string token =
      Issue(f, DaemonFixture::kAdminToken, "gw-1", v1::ACCOUNT_ROLE_GATEWAY, "gw-1");
  GatewayClient gw(f.channel, token, "gw-1");
  gw.WaitForWelcome();
  Revoke(f, "gw-1");
  gw.WaitFor([](const v1::HotlineMessage& m) { return testing::IsEndOfStream(m); });
  const grpc::Status status = gw.Finish();
  CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(status.error_message().find("revoked") != std::string::npos);
  // And the token opens nothing any more.
  CHECK(Connect(f.channel, token, "gw-1") == grpc::StatusCode::UNAUTHENTICATED);
}

// Waits (up to the fixtures' patience, polling) until `done` holds.
bool WaitUntil(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + testing::kPatience;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A connection of its own for a client that never reads: its stream window stays at 4 KB, so
// the daemon's writes to it block after that much.
std::shared_ptr<grpc::Channel> PausedChannel(const DaemonFixture& f) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 4096);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(f.daemon->grpc_port()),
                                   grpc::InsecureChannelCredentials(), args);
}

// The value of one sample of GET /metrics, or -1 while it has none.
double MetricSample(const DaemonFixture& f, const std::string& series) {
  httplib::Client client("127.0.0.1", f.daemon->http_port());
  auto res = client.Get("/metrics");
  REQUIRE(res);
  return testing::SampleValue(res->body, series).value_or(-1);
}

TEST_CASE("a revoked gateway that does not read has nothing more it sends applied") {
  DaemonFixture f;
  const std::string token =
      Issue(f, DaemonFixture::kAdminToken, "gw-1", v1::ACCOUNT_ROLE_GATEWAY, "gw-1");
  // A gateway that never reads: the daemon's acks and announcements to it block after a few
  // dozen, and its final status (the revocation) waits behind them for good.
  auto stub = v1::GatewayService::NewStub(PausedChannel(f));
  grpc::ClientContext ctx;
  testing::Authorize(ctx, token);  // No deadline: the stream lives as long as the test.
  auto stream = stub->Connect(&ctx);
  v1::GatewayMessage hello;
  *hello.mutable_hello() = testing::HelloFor("gw-1");
  REQUIRE(stream->Write(hello));
  const auto arrival = [](const std::string& id, v1::Priority priority) {
    v1::GatewayMessage m;
    m.mutable_event()->set_event_id(id);
    m.mutable_event()->set_call_id(id);
    *m.mutable_event()->mutable_arrived() = testing::Arrival("38", "0912345678", priority);
    return m;
  };
  constexpr int kArrivals = 2000;
  for (int i = 0; i < kArrivals; ++i) {
    REQUIRE(stream->Write(arrival("c-" + std::to_string(i), v1::PRIORITY_NORMAL)));
  }
  REQUIRE(WaitUntil([&] { return f.View().summary().waiting_total() == kArrivals; }));

  Revoke(f, "gw-1");
  // The leaked token's holder goes on: emergencies, which would head the queue. The daemon
  // reads the first, drops it, and reads no more.
  for (int i = 0; i < 3; ++i) {
    stream->Write(arrival("late-" + std::to_string(i), v1::PRIORITY_EMERGENCY));
  }
  const std::string dropped = "hotline_gateway_messages_after_close_total";
  REQUIRE(WaitUntil([&] { return MetricSample(f, dropped) >= 1; }));
  CHECK(MetricSample(f, dropped) == 1);
  const v1::QueueView view = f.View();
  CHECK(view.summary().waiting_total() == kArrivals);
  REQUIRE(view.calls_size() > 0);
  CHECK(view.calls(0).summary().priority() == v1::PRIORITY_NORMAL);
  ctx.TryCancel();
  stream->Finish();
}

// The revoked stream lingers while its client does not read (its final status waits behind a
// blocked write), but the gateway is away: its commands wait for its next Hello, as for a
// gateway whose stream has ended, instead of going into the stream that will never carry them.
TEST_CASE("commands for a revoked gateway that does not read wait for its next stream") {
  auto time = std::make_shared<testing::ManualTime>();
  DaemonFixture f({}, nullptr, time);
  const std::string token =
      Issue(f, DaemonFixture::kAdminToken, "gw-1", v1::ACCOUNT_ROLE_GATEWAY, "gw-1");
  auto stub = v1::GatewayService::NewStub(PausedChannel(f));
  grpc::ClientContext ctx;
  testing::Authorize(ctx, token);
  auto stream = stub->Connect(&ctx);
  v1::GatewayMessage first;
  *first.mutable_hello() = testing::HelloFor("gw-1");
  REQUIRE(stream->Write(first));
  v1::Hello hello = testing::HelloFor("gw-1");
  constexpr int kArrivals = 2000;  // Enough acks that the daemon's writes to it block.
  for (int i = 0; i < kArrivals; ++i) {
    const std::string id = "c-" + std::to_string(i);
    v1::GatewayMessage m;
    m.mutable_event()->set_event_id(id);
    m.mutable_event()->set_call_id(id);
    *m.mutable_event()->mutable_arrived() = testing::Arrival("38", "0912345678");
    REQUIRE(stream->Write(m));
    hello.add_held_calls()->set_call_id(id);
  }
  // (Not the view's summary: it is made once a second of the daemon's clock, which stands still.)
  const std::string waiting = "hotline_waiting_calls{priority=\"normal\"}";
  REQUIRE(WaitUntil([&] { return MetricSample(f, waiting) == kArrivals; }));
  Revoke(f, "gw-1");

  // A minute on, every caller is due an announcement.
  time->Advance(routing::Millis(60'000));
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, hello);
  REQUIRE(gw.WaitForWelcome().held_calls_size() == kArrivals);
  v1::GatewayMessage last;
  last.mutable_event()->set_event_id("last");
  last.mutable_event()->set_call_id("last");
  *last.mutable_event()->mutable_arrived() = testing::Arrival("38", "0912345679");
  gw.Send(last);
  std::set<std::string> announced;
  gw.WaitFor([&](const v1::HotlineMessage& m) {
    if (m.has_command() && m.command().has_announce()) {
      announced.insert(m.command().call_id());
    }
    return m.has_ack() && m.ack().event_id() == "last";
  });
  announced.erase("last");
  CHECK(announced.size() == kArrivals);
  ctx.TryCancel();
  stream->Finish();
}

TEST_CASE("rotating a gateway account closes the old token's stream and the new token connects") {
  DaemonFixture f;
  const std::string old_token =
      Issue(f, DaemonFixture::kAdminToken, "gw-1", v1::ACCOUNT_ROLE_GATEWAY, "gw-1");
  GatewayClient gw(f.channel, old_token, "gw-1");
  gw.WaitForWelcome();
  const std::string new_token = Rotate(f, "gw-1");
  gw.WaitFor([](const v1::HotlineMessage& m) { return testing::IsEndOfStream(m); });
  const grpc::Status status = gw.Finish();
  CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(status.error_message().find("rotated") != std::string::npos);
  CHECK(Connect(f.channel, old_token, "gw-1") == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(Connect(f.channel, new_token, "gw-1") == grpc::StatusCode::OK);
}

// A WatchQueue stream read on its own thread.
class QueueReader {
 public:
  QueueReader(DaemonFixture& f, const std::string& token)
      : stub_(v1::SupervisorService::NewStub(f.channel)) {
    testing::Authorize(ctx_, token);
    reader_ = stub_->WatchQueue(&ctx_, v1::WatchQueueRequest());
    v1::QueueUpdate first;
    REQUIRE(reader_->Read(&first));
    REQUIRE(first.has_view());
    ending_ = std::async(std::launch::async, [this] {
      v1::QueueUpdate update;
      while (reader_->Read(&update)) {
      }
      return reader_->Finish();
    });
  }
  ~QueueReader() {
    ctx_.TryCancel();
    if (ending_.valid()) {
      ending_.wait();
    }
  }
  // How the stream ended; fails the test if it has not within the patience.
  grpc::Status End() {
    REQUIRE(ending_.wait_for(testing::kPatience) == std::future_status::ready);
    return ending_.get();
  }

 private:
  std::unique_ptr<v1::SupervisorService::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::QueueUpdate>> reader_;
  std::future<grpc::Status> ending_;
};

TEST_CASE("revoking a supervisor account closes its WatchQueue streams and leaves others open") {
  DaemonFixture f;
  const std::string lan = Issue(f, DaemonFixture::kAdminToken, "lan", v1::ACCOUNT_ROLE_SUPERVISOR);
  const std::string minh =
      Issue(f, DaemonFixture::kAdminToken, "minh", v1::ACCOUNT_ROLE_SUPERVISOR);
  QueueReader first(f, lan);
  QueueReader second(f, lan);
  QueueReader other(f, minh);
  Revoke(f, "lan");
  for (QueueReader* reader : {&first, &second}) {
    const grpc::Status status = reader->End();
    CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  }
  // Minh's stream still works: it is still open and a call arriving reaches it.
  grpc::ClientContext ctx;
  Prepare(ctx, minh);
  auto stub = v1::SupervisorService::NewStub(f.channel);
  v1::ExplainCallRequest explain;
  explain.set_call_id("nothing");
  v1::ExplainCallResponse response;
  CHECK(stub->ExplainCall(&ctx, explain, &response).error_code() == grpc::StatusCode::NOT_FOUND);
  // The audit names who closed both streams, though their token names nobody any more.
  const auto ends = [&] {
    grpc::ClientContext audit_ctx;
    Prepare(audit_ctx, DaemonFixture::kSupervisorToken);
    v1::ListAuditResponse audit;
    REQUIRE(stub->ListAudit(&audit_ctx, v1::ListAuditRequest(), &audit).ok());
    std::vector<std::string> by;
    for (const auto& e : audit.entries()) {
      if (e.action() == "watch_queue_end") {
        by.push_back(e.principal());
      }
    }
    return by;
  };
  REQUIRE(WaitUntil([&] { return ends().size() == 2; }));
  CHECK(ends() == std::vector<std::string>{"supervisor:lan", "supervisor:lan"});
}

// A request id is a supervisor account's own, as it is a desk's: another account's same id is
// another request, never answered with the first one's answer.
TEST_CASE("two supervisor accounts using the same request id each have their request carried out") {
  DaemonFixture f;
  const std::string lan = Issue(f, DaemonFixture::kAdminToken, "lan", v1::ACCOUNT_ROLE_SUPERVISOR);
  const std::string minh =
      Issue(f, DaemonFixture::kAdminToken, "minh", v1::ACCOUNT_ROLE_SUPERVISOR);
  testing::SignedIn an(f, "an", "01");
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  gw.Arrive("c-1", "38");  // No one serves province 38: it waits.
  REQUIRE(gw.WaitForAck().code() == 0);
  auto stub = v1::SupervisorService::NewStub(f.channel);

  grpc::ClientContext lan_ctx;
  Prepare(lan_ctx, lan);
  v1::ChangeCallPriorityRequest priority;
  priority.set_request_id("r-1");
  priority.set_call_id("c-1");
  priority.set_priority(v1::PRIORITY_HIGH);
  v1::ChangeCallPriorityResponse changed;
  REQUIRE(stub->ChangeCallPriority(&lan_ctx, priority, &changed).ok());
  CHECK(changed.call().summary().priority() == v1::PRIORITY_HIGH);

  grpc::ClientContext minh_ctx;
  Prepare(minh_ctx, minh);
  v1::SetCounsellorPresenceRequest presence;
  presence.set_request_id("r-1");
  presence.set_counsellor_id("an");
  presence.set_state(v1::COUNSELLOR_STATE_BREAK);
  v1::SetCounsellorPresenceResponse set;
  const grpc::Status s = stub->SetCounsellorPresence(&minh_ctx, presence, &set);
  INFO(s.error_message());
  REQUIRE(s.ok());
  CHECK(set.status().state() == v1::COUNSELLOR_STATE_BREAK);
  an.desk.WaitForState(v1::COUNSELLOR_STATE_BREAK);
}

TEST_CASE("rotating a supervisor account closes its WatchQueue stream") {
  DaemonFixture f;
  const std::string lan = Issue(f, DaemonFixture::kAdminToken, "lan", v1::ACCOUNT_ROLE_SUPERVISOR);
  QueueReader reader(f, lan);
  const std::string fresh = Rotate(f, "lan");
  CHECK(reader.End().error_code() == grpc::StatusCode::UNAUTHENTICATED);
  QueueReader again(f, fresh);  // The new token watches.
}

TEST_CASE("revoking a supervisor account ends its open web page event stream") {
  DaemonFixture f;
  const std::string lan = Issue(f, DaemonFixture::kAdminToken, "lan", v1::ACCOUNT_ROLE_SUPERVISOR);
  std::promise<void> first_event;
  std::atomic<bool> told = false;
  auto page = std::async(std::launch::async, [&] {
    httplib::Client http("127.0.0.1", f.daemon->http_port());
    http.set_read_timeout(60, 0);  // Longer than the patience: only the daemon ends it.
    std::string received;
    auto res = http.Get(
        "/api/queue/events", {{"Authorization", "Bearer " + lan}},
        [](const httplib::Response& r) { return r.status == 200; },
        [&](const char* data, size_t size) {
          received.append(data, size);
          if (!told.exchange(true)) {
            first_event.set_value();
          }
          return true;
        });
    return received;
  });
  REQUIRE(first_event.get_future().wait_for(testing::kPatience) == std::future_status::ready);
  Revoke(f, "lan");
  REQUIRE(page.wait_for(testing::kPatience) == std::future_status::ready);
  CHECK(page.get().find("\"view\"") != std::string::npos);
  httplib::Client http("127.0.0.1", f.daemon->http_port());
  auto refused = http.Get("/api/queue/events", {{"Authorization", "Bearer " + lan}});
  REQUIRE(refused);
  CHECK(refused->status == 401);
}

TEST_CASE("rotating a counsellor's desk token closes their open desk and the new token signs in") {
  DaemonFixture f;
  const std::string old_token = f.AddCounsellor("an", "01");
  testing::DeskClient desk(f.channel, old_token);
  desk.WaitForState(v1::COUNSELLOR_STATE_OFFLINE);
  const std::string new_token = RotateDesk(f, "an");
  desk.WaitForEnd();
  CHECK(desk.final_status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  testing::DeskClient fresh(f.channel, new_token, "new-");
  fresh.WaitForState(v1::COUNSELLOR_STATE_OFFLINE);
  CHECK(fresh.SetPresence(v1::COUNSELLOR_STATE_AVAILABLE).ok());
}

TEST_CASE("a desk that does not read is gone as soon as its token is rotated: offered nothing") {
  DaemonFixture f;
  const std::string token = f.AddCounsellor("an", "38");
  // The old token's desk opens Watch and never reads; the counsellor goes AVAILABLE and back
  // enough times that its presence events fill the window and the daemon's writes block: its
  // final status (the rotation) then waits behind them for good.
  grpc::ClientContext queue_ctx;
  testing::Authorize(queue_ctx, DaemonFixture::kSupervisorToken);
  queue_ctx.set_deadline(std::chrono::system_clock::now() + testing::kPatience);
  auto queue =
      v1::SupervisorService::NewStub(f.channel)->WatchQueue(&queue_ctx, v1::WatchQueueRequest());
  auto desks = v1::DeskService::NewStub(PausedChannel(f));
  grpc::ClientContext watch;
  testing::Authorize(watch, token);  // No deadline: the stream lives as long as the test.
  auto paused = desks->Watch(&watch, v1::WatchDeskRequest());
  // The Watch reaches the daemon on its own channel: AVAILABLE needs it open (a race under load
  // made the first SetPresence FAILED_PRECONDITION). Its events are never read, so the
  // supervisors' view, watched since before it opened, says when the daemon has it.
  bool desk_open = false;
  for (v1::QueueUpdate update; !desk_open && queue->Read(&update);) {
    const auto& counsellors =
        update.has_view() ? update.view().counsellors() : update.change().counsellors();
    for (const v1::CounsellorStatus& c : counsellors) {
      desk_open = desk_open || (c.counsellor_id() == "an" && c.desk_connected());
    }
  }
  REQUIRE(desk_open);
  queue_ctx.TryCancel();
  auto presence = v1::DeskService::NewStub(f.channel);
  const auto set = [&](int i, v1::CounsellorState state) {
    grpc::ClientContext ctx;
    Prepare(ctx, token);
    v1::SetPresenceRequest request;
    request.set_request_id("p-" + std::to_string(i));
    request.set_state(state);
    v1::SetPresenceResponse response;
    return presence->SetPresence(&ctx, request, &response);
  };
  for (int i = 0; i < 200; ++i) {
    REQUIRE(set(i, i % 2 == 0 ? v1::COUNSELLOR_STATE_AVAILABLE : v1::COUNSELLOR_STATE_BREAK).ok());
  }
  REQUIRE(set(200, v1::COUNSELLOR_STATE_AVAILABLE).ok());

  RotateDesk(f, "an");
  // A call comes: nobody can see an offer on the rotated desk, so none is made there (it would
  // ring unseen and count as missed). The counsellor is AVAILABLE in the grace period, desk gone.
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.Arrive("c-1", "38");
  REQUIRE(gw.WaitForAck().code() == 0);
  const v1::QueueView view = f.View();
  REQUIRE(view.calls_size() == 1);
  CHECK(view.calls(0).state() == v1::CALL_STATE_WAITING);
  REQUIRE(view.counsellors_size() == 1);
  CHECK(view.counsellors(0).state() == v1::COUNSELLOR_STATE_AVAILABLE);
  CHECK_FALSE(view.counsellors(0).desk_connected());
  watch.TryCancel();
  paused->Finish();
}

TEST_CASE("remove with sign_out signs a counsellor out closes their desk and removes them in one step") {
  DaemonFixture f;
  const std::string token = f.AddCounsellor("an", "01");
  testing::DeskClient desk(f.channel, token);
  desk.WaitForState(v1::COUNSELLOR_STATE_OFFLINE);
  REQUIRE(desk.SetPresence(v1::COUNSELLOR_STATE_AVAILABLE).ok());
  const grpc::Status plain = RemoveCounsellor(f, "an", false);
  CHECK(plain.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(RemoveCounsellor(f, "an", true).ok());
  desk.WaitForEnd();
  CHECK(desk.final_status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext ctx;
  testing::Authorize(ctx, DaemonFixture::kAdminToken);
  v1::ListCounsellorsResponse list;
  REQUIRE(f.admin->ListCounsellors(&ctx, v1::ListCounsellorsRequest(), &list).ok());
  CHECK(list.counsellors_size() == 0);
}

TEST_CASE("accounts survive a restart: tokens keep working and revoked ones stay revoked") {
  DaemonFixture f;
  const std::string lan = Issue(f, DaemonFixture::kAdminToken, "lan", v1::ACCOUNT_ROLE_SUPERVISOR);
  const std::string gone =
      Issue(f, DaemonFixture::kAdminToken, "gone", v1::ACCOUNT_ROLE_SUPERVISOR);
  Revoke(f, "gone");
  f.Restart();
  const auto calls = Calls(f.channel, [](const std::string&) { return std::string("gw-a"); });
  CHECK(calls.at("SupervisorService.WatchQueue")(lan) == grpc::StatusCode::OK);
  CHECK(calls.at("SupervisorService.WatchQueue")(gone) == grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext ctx;
  testing::Authorize(ctx, DaemonFixture::kAdminToken);
  v1::IssueTokenRequest again;
  again.set_name("gone");
  again.set_role(v1::ACCOUNT_ROLE_SUPERVISOR);
  v1::IssueTokenResponse response;
  CHECK(f.admin->IssueToken(&ctx, again, &response).error_code() ==
        grpc::StatusCode::ALREADY_EXISTS);
}

TEST_CASE("issuing an account refuses bad fields by name and stores no token") {
  DaemonFixture f;
  auto issue = [&f](const std::string& name, v1::AccountRole role, const std::string& gateway) {
    grpc::ClientContext ctx;
    testing::Authorize(ctx, DaemonFixture::kAdminToken);
    v1::IssueTokenRequest request;
    request.set_name(name);
    request.set_role(role);
    request.set_gateway_id(gateway);
    v1::IssueTokenResponse response;
    return f.admin->IssueToken(&ctx, request, &response);
  };
  auto refused = issue("", v1::ACCOUNT_ROLE_SUPERVISOR, "");
  CHECK(refused.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(refused.error_message().rfind("name:", 0) == 0);
  refused = issue("has space", v1::ACCOUNT_ROLE_SUPERVISOR, "");
  CHECK(refused.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  refused = issue(std::string(65, 'x'), v1::ACCOUNT_ROLE_SUPERVISOR, "");
  CHECK(refused.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  refused = issue("gw", v1::ACCOUNT_ROLE_GATEWAY, "");
  CHECK(refused.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(refused.error_message().rfind("gateway_id:", 0) == 0);
  refused = issue("sup", v1::ACCOUNT_ROLE_SUPERVISOR, "gw-1");
  CHECK(refused.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  refused = issue("x", v1::ACCOUNT_ROLE_UNSPECIFIED, "");
  CHECK(refused.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(refused.error_message().rfind("role:", 0) == 0);
  const std::string token = Issue(f, DaemonFixture::kAdminToken, "lan",
                                  v1::ACCOUNT_ROLE_SUPERVISOR);
  // The database holds the hash, never the token.
  f.daemon->Shutdown();
  std::stringstream bytes;
  for (const std::string suffix : {"", "-wal"}) {
    std::ifstream db(f.config.database + suffix, std::ios::binary);
    bytes << db.rdbuf();
  }
  CHECK(bytes.str().find(token) == std::string::npos);
  CHECK(bytes.str().find("lan") != std::string::npos);
}

// --- The config file's tokens against the binds. ---

TEST_CASE("config tokens are checked against the binds: dev shared-gateway and weak tokens only on loopback") {
  daemon::Config c;
  c.grpc_listen = "127.0.0.1:50051";
  c.http_listen = "127.0.0.1:8080";
  c.gateway_token = "dev-gateway-token";
  c.supervisor_token = "dev-supervisor-token";
  c.admin_token = "x";
  CHECK(daemon::CheckConfigTokens(c).ok());
  for (const char* host : {"localhost:1", "[::1]:1", "127.0.0.2:1"}) {
    c.http_listen = host;
    INFO(host);
    CHECK(daemon::CheckConfigTokens(c).ok());
  }
  const std::string strong = "3f9a1c0be47d2865aa10f3c9e5b7d4128c6e0f1a2b3c4d5e6f708192a3b4c5d6";
  const std::string other = "9b8a7c6d5e4f30211e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a697887";

  SECTION("the shared gateway token is refused on a reachable bind") {
    c.grpc_listen = "0.0.0.0:50051";
    c.supervisor_token = strong;
    c.admin_token = other;
    c.gateway_token = strong + "x";
    const absl::Status s = daemon::CheckConfigTokens(c);
    CHECK(s.code() == absl::StatusCode::kFailedPrecondition);
    CHECK(s.message().find("security.gateway_token") == 0);
    CHECK(s.message().find("0.0.0.0:50051") != std::string::npos);
  }
  SECTION("a dev token is refused naming its key, on either bind") {
    c.http_listen = "10.0.0.5:8080";
    c.gateway_token = "";
    c.admin_token = other;
    const absl::Status s = daemon::CheckConfigTokens(c);
    CHECK(s.code() == absl::StatusCode::kFailedPrecondition);
    CHECK(s.message().find("security.supervisor_token: a development token") == 0);
  }
  SECTION("a short or low-variety token is refused as weak") {
    c.grpc_listen = "192.168.1.10:50051";
    c.gateway_token = "";
    c.supervisor_token = strong;
    c.admin_token = std::string(31, 'a') + "bcdefghij";  // 40 long, 10 different: strong enough
    CHECK(daemon::CheckConfigTokens(c).ok());
    c.admin_token = strong.substr(0, 31);
    absl::Status s = daemon::CheckConfigTokens(c);
    CHECK(s.code() == absl::StatusCode::kFailedPrecondition);
    CHECK(s.message().find("security.admin_token: too weak") == 0);
    c.admin_token = std::string(40, 'a') + "bcdefghi";  // 9 different characters
    s = daemon::CheckConfigTokens(c);
    CHECK(s.message().find("security.admin_token: too weak") == 0);
  }
  SECTION("strong tokens and no shared gateway token start on any bind") {
    c.grpc_listen = "0.0.0.0:50051";
    c.gateway_token = "";
    c.supervisor_token = strong;
    c.admin_token = other;
    CHECK(daemon::CheckConfigTokens(c).ok());
  }
}

TEST_CASE("a daemon with dev tokens on a reachable bind refuses to start before creating anything") {
  testing::TempDir dir;
  daemon::Config config = testing::TestConfig(dir);
  config.grpc_listen = "0.0.0.0:0";  // Refused before any bind.
  // Past the plaintext check (tls.h), which would refuse this bind first.
  config.tls.allow_plaintext_public = true;
  config.supervisor_token = "dev-supervisor-token";
  config.gateway_token = "";
  config.admin_token = "";
  auto started = daemon::Daemon::Start(config);
  REQUIRE_FALSE(started.ok());
  CHECK(started.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(started.status().message().find("security.supervisor_token") == 0);
  CHECK_FALSE(std::filesystem::exists(config.database));
}

TEST_CASE("the principal of a request names its role and account for audit records") {
  CHECK(daemon::PrincipalName({daemon::Role::kSupervisor, "lan", "", false}) == "supervisor:lan");
  CHECK(daemon::PrincipalName({daemon::Role::kAdmin, "config", "", true}) == "admin:config");
  daemon::Config config;
  config.supervisor_token = "boot";
  daemon::Accounts accounts(config);
  accounts.Load({{"lan", "supervisor", "", "", 1, 0}});
  auto boot = accounts.Authenticate("boot", daemon::Role::kSupervisor);
  REQUIRE(boot);
  CHECK(daemon::PrincipalName(*boot) == "supervisor:config");
  CHECK_FALSE(accounts.Authenticate("boot", daemon::Role::kAdmin));
  CHECK_FALSE(accounts.Authenticate("", daemon::Role::kSupervisor));
}

}  // namespace
}  // namespace hotline
