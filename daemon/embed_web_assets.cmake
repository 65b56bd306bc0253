# Writes OUTPUT, a C++ file holding the bytes of FILES (names relative to WEB_DIR) for
# daemon/web_assets.cc. Run at build time by daemon/web_assets.cmake:
#   cmake -DWEB_DIR=... -DOUTPUT=... "-DFILES=index.html;app.js" -P embed_web_assets.cmake
# Every byte is written as a \x escape, so any file (UTF-8 text, or binary) survives unchanged.
cmake_minimum_required(VERSION 3.25)

set(body "")
set(entries "")
set(index 0)
string(REPEAT "[0-9a-f]" 128 line_bytes)
foreach(name IN LISTS FILES)
  file(READ "${WEB_DIR}/${name}" hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  # 64 bytes a line: one literal per line, concatenated by the compiler.
  string(REGEX REPLACE "(${line_bytes})" "\\1|" hex "${hex}")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" escaped "${hex}")
  string(REPLACE "|" "\"\n    \"" escaped "${escaped}")
  string(APPEND body "// ${name}, ${size} bytes.\nconstexpr char kFile${index}[] =\n    \"${escaped}\";\n\n")
  string(APPEND entries "    {\"/${name}\", std::string_view(kFile${index}, ${size})},\n")
  math(EXPR index "${index} + 1")
endforeach()

set(content "// Generated at build time from web/ by daemon/embed_web_assets.cmake. Do not edit.
#include <span>
#include <string_view>

#include \"daemon/web_assets.h\"

namespace hotline::daemon::web_internal {
namespace {

${body}constexpr EmbeddedFile kFiles[] = {
${entries}};

}  // namespace

std::span<const EmbeddedFile> EmbeddedFiles() { return kFiles; }

}  // namespace hotline::daemon::web_internal
")

# Only rewrite a changed file, so an unchanged web/ recompiles nothing.
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
  if(old STREQUAL content)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${content}")
