// DAP types the shim reads or writes, named and shaped as the spec names
// them (only the fields the shim uses). Each has a from_json (false: not this
// type; the caller forwards the message unchanged) and a to_json. Types that
// are echoed back or rewritten keep the object they were read from
// (`as_sent`); to_json writes their fields over it, so fields the shim does
// not model keep their value and their place.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dap-shim/protocol.h"

namespace dlvidx::dap {

// Source: a file as the client names it.
struct Source {
  std::optional<std::string> path;  // the client's path (mapped to the index by path_map.h)
  json::object as_sent;             // the client's whole Source, echoed back in Breakpoint.source
};
bool from_json(const json::value& v, Source& out);  // false unless an object
json::object to_json(const Source& s);

// SourceBreakpoint: a line breakpoint as the client asks for it.
struct SourceBreakpoint {
  int64_t line = 0;
  std::string condition, hitCondition, logMessage;
};
bool from_json(const json::value& v, SourceBreakpoint& out);  // false unless an object

// Breakpoint: what the shim answers for each requested line, and what dlv
// reports in breakpoint events.
struct Breakpoint {
  int64_t id = 0;
  bool verified = false;
  std::optional<int64_t> line;
  std::string message;  // written only when not empty
  std::optional<Source> source;
  std::string instructionReference;  // where it is armed (the first address); written only when set
  json::object as_sent;              // dlv's object, when read from dlv
};
bool from_json(const json::value& v, Breakpoint& out);  // false unless an object
json::object to_json(const Breakpoint& b);

// StackFrame: only its source is read (and rewritten).
struct StackFrame {
  std::optional<Source> source;
  json::object as_sent;
};
bool from_json(const json::value& v, StackFrame& out);  // false unless an object
json::object to_json(const StackFrame& f);

// InstructionBreakpoint: an address breakpoint (the client's own, and the
// shim's armed lines, sent to dlv together).
struct InstructionBreakpoint {
  std::string instructionReference;
  std::string condition, hitCondition;  // written only when not empty
};
bool from_json(const json::value& v, InstructionBreakpoint& out);  // false unless an object
json::object to_json(const InstructionBreakpoint& b);

// BreakpointLocation: a line with code (Go's line tables carry no columns).
struct BreakpointLocation {
  int64_t line = 0;
};
json::object to_json(const BreakpointLocation& l);

// Capabilities: the parts of dlv's initialize answer the shim reads or adds.
struct Capabilities {
  std::optional<bool> supportsInstructionBreakpoints;      // dlv's: may the shim arm through it?
  std::optional<bool> supportsBreakpointLocationsRequest;  // the shim's: answered from the index
};
bool from_json(const json::value& v, Capabilities& out);  // a non-object is no capabilities
void to_json(const Capabilities& c, json::object& over);  // writes the fields that are set

}  // namespace dlvidx::dap
