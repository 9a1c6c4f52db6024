#include "dap-shim/protocol_requests.h"

namespace dlvidx::dap {

namespace {

std::vector<SubstitutePath> substitute_rules(const json::object& args) {
  std::vector<SubstitutePath> out;
  if (const json::array* a = get_array(args, "substitutePath"))
    for (const auto& v : *a)
      if (v.is_object())
        out.push_back({get_string(v.as_object(), "from").value_or(""),
                       get_string(v.as_object(), "to").value_or("")});
  return out;
}

template <typename T>
json::array to_array(const std::vector<T>& items) {
  json::array a;
  for (const T& i : items) a.push_back(to_json(i));
  return a;
}

}  // namespace

bool from_json(const json::value& v, LaunchRequestArguments& out) {
  if (!v.is_object()) return false;
  const json::object& o = v.as_object();
  out.mode = get_string(o, "mode");
  out.program = get_string(o, "program");
  out.cwd = get_string(o, "cwd");
  out.output = get_string(o, "output");
  out.substitutePath = substitute_rules(o);
  out.noDebug = get_bool(o, "noDebug").value_or(false);
  return true;
}

bool from_json(const json::value& v, AttachRequestArguments& out) {
  if (!v.is_object()) return false;
  const json::object& o = v.as_object();
  out.mode = get_string(o, "mode").value_or("local");
  out.processId = get_int(o, "processId");
  out.substitutePath = substitute_rules(o);
  return true;
}

bool from_json(const json::value& v, SetBreakpointsArguments& out) {
  if (!v.is_object()) return false;
  const json::object& o = v.as_object();
  const json::value* source = o.if_contains("source");
  if (!source || !from_json(*source, out.source)) return false;
  out.breakpoints.clear();
  out.breakpoints_as_sent = nullptr;
  if (const json::value* b = o.if_contains("breakpoints")) out.breakpoints_as_sent = *b;
  if (const json::array* bps = get_array(o, "breakpoints")) {
    for (const auto& b : *bps) {
      SourceBreakpoint sb;
      if (from_json(b, sb)) out.breakpoints.push_back(std::move(sb));
    }
  } else if (const json::array* lines =
                 get_array(o, "lines")) {  // deprecated form: "lines": [N, ...]
    for (const auto& l : *lines)
      if (l.is_int64()) out.breakpoints.push_back({l.as_int64(), {}, {}, {}});
  }
  return true;
}

bool from_json(const json::value& v, SetBreakpointsResponseBody& out) {
  if (!v.is_object()) return false;
  out.breakpoints.clear();
  if (const json::array* a = get_array(v.as_object(), "breakpoints"))
    for (const auto& b : *a) {
      Breakpoint bp;
      if (!from_json(b, bp)) return false;
      out.breakpoints.push_back(std::move(bp));
    }
  return true;
}

json::object to_json(const SetBreakpointsResponseBody& b) {
  return {{"breakpoints", to_array(b.breakpoints)}};
}

bool from_json(const json::value& v, StackTraceResponseBody& out) {
  if (!v.is_object()) return false;
  out.as_sent = v.as_object();
  out.stackFrames.clear();
  if (const json::array* a = get_array(out.as_sent, "stackFrames"))
    for (const auto& f : *a) {
      StackFrame frame;
      if (!from_json(f, frame)) return false;
      out.stackFrames.push_back(std::move(frame));
    }
  return true;
}

json::object to_json(const StackTraceResponseBody& b) {
  json::object o = b.as_sent;
  o["stackFrames"] = to_array(b.stackFrames);
  return o;
}

bool from_json(const json::value& v, SetInstructionBreakpointsArguments& out) {
  out.breakpoints.clear();
  if (!v.is_object()) return true;
  if (const json::array* a = get_array(v.as_object(), "breakpoints"))
    for (const auto& b : *a) {
      InstructionBreakpoint ib;
      if (from_json(b, ib)) out.breakpoints.push_back(std::move(ib));
    }
  return true;
}

json::object to_json(const SetInstructionBreakpointsResponseBody& b) {
  return {{"breakpoints", b.breakpoints}};
}

bool from_json(const json::value& v, BreakpointLocationsArguments& out) {
  out = {};
  if (!v.is_object()) return true;
  const json::object& o = v.as_object();
  if (const json::value* s = o.if_contains("source")) {
    Source src;
    if (from_json(*s, src)) out.source = std::move(src);
  }
  out.line = get_int(o, "line").value_or(0);
  out.endLine = get_int(o, "endLine");
  return true;
}

json::object to_json(const BreakpointLocationsResponseBody& b) {
  return {{"breakpoints", to_array(b.breakpoints)}};
}

}  // namespace dlvidx::dap
