#include "dap-shim/protocol_events.h"

namespace dlvidx::dap {

bool from_json(const json::value& v, StoppedEventBody& out) {
  if (!v.is_object()) return false;
  out.as_sent = v.as_object();
  out.reason = get_string(out.as_sent, "reason").value_or("");
  out.hitBreakpointIds.reset();
  if (const json::array* ids = get_array(out.as_sent, "hitBreakpointIds"))
    out.hitBreakpointIds = *ids;
  return true;
}

json::object to_json(const StoppedEventBody& b) {
  json::object o = b.as_sent;
  o["reason"] = b.reason;
  if (b.hitBreakpointIds) o["hitBreakpointIds"] = *b.hitBreakpointIds;
  return o;
}

bool from_json(const json::value& v, BreakpointEventBody& out) {
  if (!v.is_object()) return false;
  out.as_sent = v.as_object();
  out.reason = get_string(out.as_sent, "reason").value_or("");
  const json::value* bp = out.as_sent.if_contains("breakpoint");
  return bp && from_json(*bp, out.breakpoint);
}

json::object to_json(const BreakpointEventBody& b) {
  json::object o = b.as_sent;
  if (!b.reason.empty()) o["reason"] = b.reason;
  o["breakpoint"] = to_json(b.breakpoint);
  return o;
}

}  // namespace dlvidx::dap
