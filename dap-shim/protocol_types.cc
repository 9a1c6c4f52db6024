#include "dap-shim/protocol_types.h"

namespace dlvidx::dap {

bool from_json(const json::value& v, Source& out) {
  if (!v.is_object()) return false;
  out.as_sent = v.as_object();
  out.path = get_string(out.as_sent, "path");
  return true;
}

json::object to_json(const Source& s) {
  json::object o = s.as_sent;
  if (s.path) o["path"] = *s.path;
  return o;
}

bool from_json(const json::value& v, SourceBreakpoint& out) {
  if (!v.is_object()) return false;
  const json::object& o = v.as_object();
  out.line = get_int(o, "line").value_or(0);
  out.condition = get_string(o, "condition").value_or("");
  out.hitCondition = get_string(o, "hitCondition").value_or("");
  out.logMessage = get_string(o, "logMessage").value_or("");
  return true;
}

bool from_json(const json::value& v, Breakpoint& out) {
  if (!v.is_object()) return false;
  const json::object& o = v.as_object();
  out.as_sent = o;
  out.id = get_int(o, "id").value_or(0);
  out.verified = get_bool(o, "verified").value_or(false);
  out.line = get_int(o, "line");
  out.message = get_string(o, "message").value_or("");
  out.instructionReference = get_string(o, "instructionReference").value_or("");
  if (auto* s = o.if_contains("source")) {
    Source src;
    if (from_json(*s, src)) out.source = std::move(src);
  }
  return true;
}

json::object to_json(const Breakpoint& b) {
  json::object o = b.as_sent;
  o["id"] = b.id;
  o["verified"] = b.verified;
  if (b.line) o["line"] = *b.line;
  if (!b.message.empty()) o["message"] = b.message;
  if (b.source) o["source"] = to_json(*b.source);
  if (!b.instructionReference.empty()) o["instructionReference"] = b.instructionReference;
  return o;
}

bool from_json(const json::value& v, StackFrame& out) {
  if (!v.is_object()) return false;
  out.as_sent = v.as_object();
  out.source.reset();
  if (auto* s = out.as_sent.if_contains("source")) {
    Source src;
    if (from_json(*s, src)) out.source = std::move(src);
  }
  return true;
}

json::object to_json(const StackFrame& f) {
  json::object o = f.as_sent;
  if (f.source) o["source"] = to_json(*f.source);
  return o;
}

bool from_json(const json::value& v, InstructionBreakpoint& out) {
  if (!v.is_object()) return false;
  const json::object& o = v.as_object();
  out = {get_string(o, "instructionReference").value_or(""),
         get_string(o, "condition").value_or(""), get_string(o, "hitCondition").value_or("")};
  return true;
}

json::object to_json(const InstructionBreakpoint& b) {
  json::object o{{"instructionReference", b.instructionReference}};
  if (!b.condition.empty()) o["condition"] = b.condition;
  if (!b.hitCondition.empty()) o["hitCondition"] = b.hitCondition;
  return o;
}

json::object to_json(const BreakpointLocation& l) { return {{"line", l.line}}; }

bool from_json(const json::value& v, Capabilities& out) {
  out = {};
  if (!v.is_object()) return true;
  out.supportsInstructionBreakpoints = get_bool(v.as_object(), "supportsInstructionBreakpoints");
  out.supportsBreakpointLocationsRequest =
      get_bool(v.as_object(), "supportsBreakpointLocationsRequest");
  return true;
}

void to_json(const Capabilities& c, json::object& over) {
  if (c.supportsInstructionBreakpoints)
    over["supportsInstructionBreakpoints"] = *c.supportsInstructionBreakpoints;
  if (c.supportsBreakpointLocationsRequest)
    over["supportsBreakpointLocationsRequest"] = *c.supportsBreakpointLocationsRequest;
}

}  // namespace dlvidx::dap
