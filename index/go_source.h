// Which top-level function of a Go source file a line belongs to, from the text alone: when a
// breakpoint line has no code, the shim says "Function F was not compiled into this binary" or
// "Line N is outside every function", and only the source knows which. A small exact lexer
// (comments, strings, raw strings, runes, Go's semicolon insertion), not a parser: it finds
// `func` declarations at the top level and their bodies' braces.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dlvidx::index {

struct GoFunc {
  // As written, in the spelling of Go's symbol names: "helper", "T.M", "(*T).M",
  // "(*List[...]).Push" (a generic receiver's type parameters are "[...]"); "Map" for a generic
  // function.
  std::string name;
  uint32_t decl_line;  // the line of the `func` keyword (1-based)
  uint32_t end_line;  // the line of the body's closing brace; 0 without a body (assembly, linkname)
};

struct GoSource {
  std::string package;        // the package clause's name
  std::vector<GoFunc> funcs;  // top-level func declarations in source order
};

// nullopt when the text is not Go source (no package clause, a NUL byte, an unterminated comment,
// string or rune) or its braces, parentheses and brackets do not balance. Never throws, linear
// time.
std::optional<GoSource> scan_go_source(std::string_view text);

// The top-level function whose [decl_line, end_line] holds `line` (function literals belong to the
// function they are written in); nullptr outside every function. A declaration without a body
// holds no line: it has no code of its own in Go.
const GoFunc* enclosing_function(const GoSource& src, uint32_t line);

// Reads and scans a file; nullopt if it is unreadable, larger than 16 MiB, or not Go.
std::optional<GoSource> scan_go_file(const std::string& path);

}  // namespace dlvidx::index
