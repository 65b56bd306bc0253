// Parsing the bytes of a request or a gateway message (daemon/wire_parse.h): what does not parse
// is refused naming the string that is not UTF-8, through nested messages and repeated fields.
#include "daemon/wire_parse.h"

#include <catch2/catch.hpp>

#include "hotline/v1/admin.pb.h"
#include "hotline/v1/desk.pb.h"
#include "hotline/v1/gateway.pb.h"
#include "hotline/v1/supervisor.pb.h"

namespace hotline::daemon {
namespace {

namespace v1 = ::hotline::v1;

grpc::ByteBuffer Bytes(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

TEST_CASE("a message parses from its bytes, or is refused naming the string that is not UTF-8",
          "[daemon]") {
  v1::CreateCounsellorRequest request;
  v1::Counsellor& c = *request.mutable_counsellor();
  c.set_counsellor_id("lan");
  c.set_display_name("Nguy\xe1\xbb\x85n Lan");
  c.add_provinces("38");
  c.add_provinces("40");
  c.add_skills()->set_proficiency(3);

  v1::CreateCounsellorRequest parsed;
  grpc::ByteBuffer whole = Bytes(request.SerializeAsString());
  REQUIRE(ParseMessage(whole, parsed, "request").ok());
  CHECK(parsed.counsellor().display_name() == "Nguy\xe1\xbb\x85n Lan");
  CHECK(
      TextNotUtf8(*v1::CreateCounsellorRequest::descriptor(), request.SerializeAsString()).empty());

  // The serializer only logs a string that is not UTF-8; the parser refuses the whole message.
  c.set_provinces(1, "4\xff");
  grpc::ByteBuffer broken = Bytes(request.SerializeAsString());
  const absl::Status refused = ParseMessage(broken, parsed, "request");
  CHECK(refused.code() == absl::StatusCode::kInvalidArgument);
  CHECK(refused.message() == "counsellor.provinces[1]: is not valid UTF-8 at byte 1");
  CHECK(parsed.counsellor().counsellor_id().empty());  // Nothing half-parsed is left.

  c.set_display_name("\xc0\xaf");  // Overlong: the first bad field in the bytes is named.
  CHECK(TextNotUtf8(*v1::CreateCounsellorRequest::descriptor(), request.SerializeAsString()) ==
        "counsellor.display_name: is not valid UTF-8 at byte 0");

  v1::GatewayMessage message;
  message.mutable_event()->set_event_id("e-1");
  message.mutable_event()->set_call_id("c-\xed\xa0\x80");  // A surrogate.
  grpc::ByteBuffer event = Bytes(message.SerializeAsString());
  CHECK(ParseMessage(event, message, "message").message() ==
        "event.call_id: is not valid UTF-8 at byte 2");
}

TEST_CASE("bytes that are not the message at all are refused as such", "[daemon]") {
  v1::CreateCounsellorRequest parsed;
  for (const std::string& bytes : {std::string("\x00\x01", 2), std::string("\x0a\x05\x0a"),
                                   std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff")}) {
    grpc::ByteBuffer buffer = Bytes(bytes);
    const absl::Status refused = ParseMessage(buffer, parsed, "request");
    CHECK(refused.code() == absl::StatusCode::kInvalidArgument);
    CHECK(refused.message() ==
          "request: cannot be parsed as a CreateCounsellorRequest (bytes that are not this "
          "protocol)");
  }
}

TEST_CASE("a method is found by its request, its response and its shape, as gRPC numbers it",
          "[daemon]") {
  // The index requests raw bytes for: a wrong one serves the request as another method's.
  const auto index = [](const google::protobuf::ServiceDescriptor* service, const char* name) {
    return service->FindMethodByName(name)->index();
  };
  const google::protobuf::ServiceDescriptor* admin =
      v1::CreateCounsellorRequest::descriptor()->file()->FindServiceByName("AdminService");
  REQUIRE(admin != nullptr);
  CHECK(MethodIndex(v1::CreateCounsellorRequest::descriptor(),
                    v1::CreateCounsellorResponse::descriptor(),
                    MethodShape::kUnary) == index(admin, "CreateCounsellor"));
  const google::protobuf::ServiceDescriptor* desk =
      v1::WatchDeskRequest::descriptor()->file()->FindServiceByName("DeskService");
  REQUIRE(desk != nullptr);
  CHECK(MethodIndex(v1::WatchDeskRequest::descriptor(), v1::DeskEvent::descriptor(),
                    MethodShape::kServerStream) == index(desk, "Watch"));
  CHECK(MethodIndex(v1::SetPresenceRequest::descriptor(), v1::SetPresenceResponse::descriptor(),
                    MethodShape::kUnary) == index(desk, "SetPresence"));
  CHECK(index(desk, "SetPresence") != index(desk, "Watch"));
  const google::protobuf::ServiceDescriptor* supervisor =
      v1::WatchQueueRequest::descriptor()->file()->FindServiceByName("SupervisorService");
  REQUIRE(supervisor != nullptr);
  CHECK(MethodIndex(v1::WatchQueueRequest::descriptor(), v1::QueueUpdate::descriptor(),
                    MethodShape::kServerStream) == index(supervisor, "WatchQueue"));
}

}  // namespace
}  // namespace hotline::daemon
