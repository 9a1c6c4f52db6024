// initialize: forwarded; dlv's answer gains supportsBreakpointLocationsRequest
// (answered from the index), and tells whether dlv can arm instruction
// breakpoints at all (Delve >= 1.20 can; without it nothing is intercepted).
#include "dap-shim/session.h"

namespace dlvidx::dap {

void Session::on_initialize_response(json::object& resp) {
  json::object* body = nullptr;
  if (auto* b = resp.if_contains("body"); b && b->is_object()) body = &b->as_object();
  if (!body) body = &resp["body"].emplace_object();
  dlv_instruction_bps_ = get_bool(*body, "supportsInstructionBreakpoints").value_or(false);
  if (!dlv_instruction_bps_) log_->warn("dlv does not support instruction breakpoints: every request goes to dlv");
  (*body)["supportsBreakpointLocationsRequest"] = true;
}

}  // namespace dlvidx::dap
