// A stop at an address the shim armed is reported as dlv reports a source
// breakpoint: reason "breakpoint", hitBreakpointIds in the shim's ids. Other
// stops go on as they came.
#include "dap-shim/handlers/handlers.h"

namespace dlvidx::dap {

Outcome StoppedEventHandler::run(const StoppedEventBody& body, json::value& out) {
  if (body.reason != "instruction breakpoint" || !body.hitBreakpointIds) return Outcome::kForward;
  json::array mapped;
  bool ours = false;
  for (const auto& h : *body.hitBreakpointIds) {
    const std::vector<int64_t>* ids = h.is_int64() ? table_.shim_ids(h.as_int64()) : nullptr;
    if (!ids) {
      mapped.push_back(h);
      continue;
    }
    ours = true;
    for (int64_t id : *ids) mapped.push_back(id);
  }
  if (!ours) return Outcome::kForward;
  StoppedEventBody rewritten = body;
  rewritten.reason = "breakpoint";
  rewritten.hitBreakpointIds = std::move(mapped);
  out = to_json(rewritten);
  return Outcome::kReplaced;
}

}  // namespace dlvidx::dap
