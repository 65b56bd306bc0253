#include "daemon/wire_parse.h"

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/support/proto_buffer_reader.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <vector>

#include "daemon/text_checks.h"

namespace hotline::daemon {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::internal::WireFormatLite;

constexpr int kDeepest = 32;

std::string Walk(const Descriptor& type, std::string_view bytes, const std::string& prefix,
                 int depth) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  std::map<int, int> seen;  // How many values of each repeated field came before.
  for (uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
    const FieldDescriptor* field = type.FindFieldByNumber(WireFormatLite::GetTagFieldNumber(tag));
    const bool nested_bytes =
        field != nullptr &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED &&
        (field->type() == FieldDescriptor::TYPE_STRING ||
         field->type() == FieldDescriptor::TYPE_MESSAGE);
    if (!nested_bytes) {
      if (!WireFormatLite::SkipField(&in, tag)) {
        return std::string();
      }
      continue;
    }
    uint32_t length = 0;
    std::string value;
    if (!in.ReadVarint32(&length) || !in.ReadString(&value, static_cast<int>(length))) {
      return std::string();
    }
    std::string path = prefix + field->name();
    if (field->is_repeated()) {
      path += fmt::format("[{}]", seen[field->number()]++);
    }
    if (field->type() == FieldDescriptor::TYPE_STRING) {
      if (const size_t at = FirstBadUtf8Byte(value); at != std::string_view::npos) {
        return fmt::format("{}: is not valid UTF-8 at byte {}", path, at);
      }
    } else if (depth < kDeepest) {
      if (std::string found = Walk(*field->message_type(), value, path + ".", depth + 1);
          !found.empty()) {
        return found;
      }
    }
  }
  return std::string();
}

}  // namespace

std::string TextNotUtf8(const Descriptor& type, std::string_view bytes) {
  return Walk(type, bytes, "", 0);
}

absl::Status ParseMessage(grpc::ByteBuffer& buffer, google::protobuf::Message& message,
                          std::string_view what) {
  message.Clear();
  bool parsed = false;
  {
    grpc::ProtoBufferReader reader(&buffer);
    parsed = reader.status().ok() && message.ParseFromZeroCopyStream(&reader);
  }
  if (parsed) {
    return absl::OkStatus();
  }
  // Only a message that failed comes here: its bytes are joined for a second look.
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (buffer.Dump(&slices).ok()) {
    for (const grpc::Slice& slice : slices) {
      bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
  }
  message.Clear();
  if (std::string text = TextNotUtf8(*message.GetDescriptor(), bytes); !text.empty()) {
    return absl::InvalidArgumentError(text);
  }
  return absl::InvalidArgumentError(
      fmt::format("{}: cannot be parsed as a {} (bytes that are not this protocol)", what,
                  message.GetDescriptor()->name()));
}

int MethodIndex(const Descriptor* request, const Descriptor* response, MethodShape shape) {
  const google::protobuf::FileDescriptor& file = *request->file();
  int found = -1;
  int matches = 0;
  for (int s = 0; s < file.service_count(); ++s) {
    const google::protobuf::ServiceDescriptor& service = *file.service(s);
    for (int m = 0; m < service.method_count(); ++m) {
      const google::protobuf::MethodDescriptor& method = *service.method(m);
      if (method.input_type() == request && method.output_type() == response &&
          !method.client_streaming() &&
          method.server_streaming() == (shape == MethodShape::kServerStream)) {
        found = m;
        ++matches;
      }
    }
  }
  if (matches != 1) {
    std::fprintf(stderr, "hotlined: %d %s methods take %s and answer %s in %s; want 1\n", matches,
                 shape == MethodShape::kUnary ? "unary" : "server-streaming",
                 request->full_name().c_str(), response->full_name().c_str(), file.name().c_str());
    std::abort();
  }
  return found;
}

}  // namespace hotline::daemon
