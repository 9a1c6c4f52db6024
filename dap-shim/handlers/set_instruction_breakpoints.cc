// setInstructionBreakpoints from the client: dlv holds one set of instruction
// breakpoints, and the shim's armed lines are in it; the client's own are
// merged in front, and the client gets dlv's answer for its entries only.
#include "dap-shim/session.h"

namespace dlvidx::dap {

bool Session::on_set_instruction_breakpoints(const json::object& req) {
  if (sources_.empty()) {
    client_instruction_.clear();
    return false;  // nothing of ours is armed: dlv can have it as it is
  }
  const json::object* args = get_object(req, "arguments");
  client_instruction_.clear();
  if (const json::array* a = args ? get_array(*args, "breakpoints") : nullptr)
    for (const auto& v : *a)
      if (v.is_object()) client_instruction_.push_back(instruction_breakpoint(v.as_object()));
  size_t n = client_instruction_.size();
  json::object request = req;
  auto self = shared_from_this();
  rearm([this, self, request, n](const json::object& resp) {
    json::array mine;
    const json::object* body = get_object(resp, "body");
    if (const json::array* got = body ? get_array(*body, "breakpoints") : nullptr)
      for (size_t i = 0; i < n && i < got->size(); i++) mine.push_back((*got)[i]);
    send_client(make_response(request, get_bool(resp, "success").value_or(false), {{"breakpoints", std::move(mine)}},
                              get_string(resp, "message").value_or("")));
  });
  return true;
}

}  // namespace dlvidx::dap
