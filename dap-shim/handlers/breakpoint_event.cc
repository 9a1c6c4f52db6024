// dlv's breakpoint events about an address the shim armed carry the shim's
// id, line and source (the client's Source, as it sent it).
#include "dap-shim/handlers/handlers.h"

namespace dlvidx::dap {

Outcome BreakpointEventHandler::run(const BreakpointEventBody& body, json::value& out) {
  const std::vector<int64_t>* ids = table_.shim_ids(body.breakpoint.id);
  if (!ids || ids->empty()) return Outcome::kForward;
  auto [src, bp] = table_.find(ids->front());
  if (!bp) return Outcome::kForward;
  BreakpointEventBody rewritten = body;
  rewritten.breakpoint.id = bp->id;
  rewritten.breakpoint.line = bp->line;
  rewritten.breakpoint.source = src->source;
  out = to_json(rewritten);
  return Outcome::kReplaced;
}

}  // namespace dlvidx::dap
