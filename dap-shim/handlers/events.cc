// Events from dlv about breakpoints the shim armed: a stop at one of its
// addresses is reported as dlv reports a source breakpoint (reason
// "breakpoint", hitBreakpointIds in the shim's ids), and breakpoint events
// carry the shim's id, line and source.
#include "dap-shim/session.h"

namespace dlvidx::dap {

bool Session::on_stopped_event(json::object& ev) {
  auto* bv = ev.if_contains("body");
  if (!bv || !bv->is_object()) return false;
  json::object& body = bv->as_object();
  if (get_string(body, "reason").value_or("") != "instruction breakpoint") return false;
  const json::array* hits = get_array(body, "hitBreakpointIds");
  if (!hits) return false;
  json::array mapped;
  bool ours = false;
  for (const auto& h : *hits) {
    auto it = h.is_int64() ? dlv_to_shim_.find(h.as_int64()) : dlv_to_shim_.end();
    if (it == dlv_to_shim_.end()) {
      mapped.push_back(h);
      continue;
    }
    ours = true;
    for (int64_t id : it->second) mapped.push_back(id);
  }
  if (!ours) return false;
  body["reason"] = "breakpoint";
  body["hitBreakpointIds"] = std::move(mapped);
  return true;
}

bool Session::on_breakpoint_event(json::object& ev) {
  auto* bv = ev.if_contains("body");
  if (!bv || !bv->is_object()) return false;
  auto* bpv = bv->as_object().if_contains("breakpoint");
  if (!bpv || !bpv->is_object()) return false;
  json::object& bp = bpv->as_object();
  auto id = get_int(bp, "id");
  auto it = id ? dlv_to_shim_.find(*id) : dlv_to_shim_.end();
  if (it == dlv_to_shim_.end() || it->second.empty()) return false;
  for (auto& [path, src] : sources_)
    for (const ShimBreakpoint& b : src.bps)
      if (b.id == it->second.front()) {
        bp["id"] = b.id;
        bp["line"] = b.line;
        bp["source"] = src.source;
        return true;
      }
  return false;
}

}  // namespace dlvidx::dap
