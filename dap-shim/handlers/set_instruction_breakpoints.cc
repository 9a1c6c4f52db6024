// setInstructionBreakpoints from the client: dlv holds one set of instruction
// breakpoints, and the shim's armed lines are in it; the client's own are
// merged in front, and the client gets dlv's answer for its entries only.
// While the shim arms nothing, dlv gets the request as sent; an empty one when
// the client had none is answered here.
#include "dap-shim/handlers/handlers.h"

namespace dlvidx::dap {

Outcome SetInstructionBreakpointsHandler::run(json::object& request,
                                              SetInstructionBreakpointsArguments& args) {
  if (table_.empty()) {
    table_.set_client_instruction({});
    return Outcome::kForward;  // nothing of ours is armed: dlv can have it as it is
  }
  size_t n = args.breakpoints.size();
  if (n == 0 && table_.client_instruction().empty()) {
    // None before, none now (VS Code sends this at every session start): nothing to arm.
    client_.send(make_response(request, true, to_json(SetInstructionBreakpointsResponseBody{})));
    return Outcome::kAnswered;
  }
  table_.set_client_instruction(std::move(args.breakpoints));
  table_.rearm_then_answer([this, request = request_stub(request), n](const json::object& resp) {
    SetInstructionBreakpointsResponseBody body;
    const json::object* b = get_object(resp, "body");
    if (const json::array* got = b ? get_array(*b, "breakpoints") : nullptr)
      for (size_t i = 0; i < n && i < got->size(); i++) body.breakpoints.push_back((*got)[i]);
    client_.send(make_response(request, get_bool(resp, "success").value_or(false), to_json(body),
                               get_string(resp, "message").value_or("")));
  });
  return Outcome::kAnswered;
}

}  // namespace dlvidx::dap
