// dlv's answer to initialize gains supportsBreakpointLocationsRequest
// (answered from the index), and tells whether dlv can arm instruction
// breakpoints at all (Delve >= 1.20 can; without it nothing is intercepted).
// A failed initialize goes on as it came.
#include "dap-shim/handlers/handlers.h"

namespace dlvidx::dap {

Outcome InitializeResponseHandler::run(const Envelope& e, const Capabilities& caps,
                                       json::object& response) {
  if (!e.success) return Outcome::kForward;
  json::value& body = response["body"];
  if (!body.is_object()) body.emplace_object();
  bool can = caps.supportsInstructionBreakpoints.value_or(false);
  table_.set_dlv_can_arm(can);
  if (!can) log_.warn("dlv does not support instruction breakpoints: every request goes to dlv");
  Capabilities added;
  added.supportsBreakpointLocationsRequest = true;
  to_json(added, body.as_object());
  return Outcome::kReplaced;
}

}  // namespace dlvidx::dap
