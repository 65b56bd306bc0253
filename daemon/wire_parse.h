// Parsing a message the daemon receives as raw bytes (the unary requests, the server streams'
// opening requests and the gateway's stream), so that bytes gRPC could not parse get an answer
// that names what is wrong.
//
// Why: proto3 refuses a whole message when one of its strings is not UTF-8. Left to gRPC 1.51's
// generated code, such a unary request is answered INTERNAL "Unable to parse request" before the
// daemon sees it, with nothing said of which field. Here it is INVALID_ARGUMENT naming the field:
// "counsellor.display_name: is not valid UTF-8 at byte 1".
//
// Stateless; thread-safe.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/support/byte_buffer.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace hotline::daemon {

// Why `bytes` do not parse as a `type` when a string field is the cause: "<path>: is not valid
// UTF-8 at byte N", the path through nested messages and repeated fields
// ("counsellor.provinces[1]"), N counted in that string. Empty when no string field holds broken
// UTF-8 (the bytes are then not a `type` at all). Nesting past 32 levels is not looked into.
std::string TextNotUtf8(const google::protobuf::Descriptor& type, std::string_view bytes);

// Parses `buffer` into `message` (cleared first). INVALID_ARGUMENT when it does not parse:
// TextNotUtf8's words when a string is the cause, else "<what>: cannot be parsed as a <type>
// (bytes that are not this protocol)".
absl::Status ParseMessage(grpc::ByteBuffer& buffer, google::protobuf::Message& message,
                          std::string_view what);

// How a method's messages flow: one request and one reply, or one request and a stream back.
enum class MethodShape { kUnary, kServerStream };

// The index in its service of the one method of `shape` taking `request` and answering
// `response` (the order of the methods in the .proto file, as gRPC's generated code numbers
// them). Aborts when the request's .proto file has no such method or more than one: a
// programming error, found by the first test that serves it.
int MethodIndex(const google::protobuf::Descriptor* request,
                const google::protobuf::Descriptor* response, MethodShape shape);

}  // namespace hotline::daemon
