// Parsing the bytes of a request or a gateway message (daemon/wire_parse.h): what does not parse
// is refused naming the string that is not UTF-8, through nested messages and repeated fields.
#include "daemon/wire_parse.h"

#include <catch2/catch.hpp>

#include "hotline/v1/admin.pb.h"
#include "hotline/v1/gateway.pb.h"

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

}  // namespace
}  // namespace hotline::daemon
