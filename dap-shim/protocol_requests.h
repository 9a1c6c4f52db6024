// Arguments and response bodies of the requests the shim intercepts, named
// as the DAP spec (and, for launch/attach, as dlv's own arguments). Each
// arguments struct has from_json(value, out): `value` is the request's
// "arguments" (null when absent); false means the shim leaves the request to
// dlv unchanged. Parsing is as lenient as dlv's: a field of the wrong type
// is absent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dap-shim/protocol_types.h"

namespace dlvidx::dap {

// dlv's substitutePath rule: client path prefix `from` is the server's `to`.
struct SubstitutePath {
  std::string from, to;
};

// launch (dlv's LaunchConfig, the parts that name the binary).
struct LaunchRequestArguments {
  std::optional<std::string> mode;     // debug (default), test, exec, core, replay
  std::optional<std::string> program;  // exec, core, replay: the binary
  std::optional<std::string> cwd;
  std::optional<std::string> output;  // debug, test: where dlv builds the binary
  std::vector<SubstitutePath> substitutePath;
  bool noDebug = false;  // run without debugging: dlv sets no breakpoints
};
bool from_json(const json::value& v, LaunchRequestArguments& out);  // false unless an object

// attach (dlv's AttachConfig).
struct AttachRequestArguments {
  std::string mode = "local";  // local | remote
  std::optional<int64_t> processId;
  std::vector<SubstitutePath> substitutePath;
};
bool from_json(const json::value& v, AttachRequestArguments& out);  // false unless an object

// setBreakpoints.
struct SetBreakpointsArguments {
  Source source;
  // `breakpoints`, or the deprecated `lines` when there is no array of them.
  std::vector<SourceBreakpoint> breakpoints;
  json::value breakpoints_as_sent;  // what the client sent (handed back to dlv on restart)
};
bool from_json(const json::value& v,
               SetBreakpointsArguments& out);  // false unless `source` is an object
struct SetBreakpointsResponseBody {
  std::vector<Breakpoint> breakpoints;
};
bool from_json(const json::value& v, SetBreakpointsResponseBody& out);  // false unless an object
json::object to_json(const SetBreakpointsResponseBody& b);

// stackTrace's answer: the frames whose source the shim may name by the client's path.
struct StackTraceResponseBody {
  std::vector<StackFrame> stackFrames;
  json::object as_sent;
};
bool from_json(const json::value& v, StackTraceResponseBody& out);  // false unless an object
json::object to_json(const StackTraceResponseBody& b);

// setInstructionBreakpoints. Absent or malformed arguments are no breakpoints.
struct SetInstructionBreakpointsArguments {
  std::vector<InstructionBreakpoint> breakpoints;
};
bool from_json(const json::value& v, SetInstructionBreakpointsArguments& out);  // always true
struct SetInstructionBreakpointsResponseBody {
  json::array breakpoints;  // dlv's Breakpoint objects for the client's entries, as dlv sent them
};
json::object to_json(const SetInstructionBreakpointsResponseBody& b);

// breakpointLocations (arguments are optional in the spec: absent is no source).
struct BreakpointLocationsArguments {
  std::optional<Source> source;
  int64_t line = 0;
  std::optional<int64_t> endLine;
};
bool from_json(const json::value& v, BreakpointLocationsArguments& out);  // always true
struct BreakpointLocationsResponseBody {
  std::vector<BreakpointLocation> breakpoints;
};
json::object to_json(const BreakpointLocationsResponseBody& b);

// Nothing the shim reads (restart, disconnect, and responses without a body it needs).
struct NoArguments {};
inline bool from_json(const json::value&, NoArguments&) { return true; }

}  // namespace dlvidx::dap
