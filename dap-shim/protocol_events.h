// Bodies of dlv's events the shim rewrites, named as the DAP spec. Both keep
// dlv's body (`as_sent`): to_json writes the fields over it, so everything
// else dlv said reaches the client as it was.
#pragma once

#include <string>

#include "dap-shim/protocol_types.h"

namespace dlvidx::dap {

// StoppedEvent's body.
struct StoppedEventBody {
  std::string reason;
  std::optional<json::array> hitBreakpointIds;  // numbers; anything else is passed on as it is
  json::object as_sent;
};
bool from_json(const json::value& v, StoppedEventBody& out);  // false unless an object
json::object to_json(const StoppedEventBody& b);

// BreakpointEvent's body.
struct BreakpointEventBody {
  std::string reason;  // changed | new | removed
  Breakpoint breakpoint;
  json::object as_sent;
};
bool from_json(const json::value& v,
               BreakpointEventBody& out);  // false unless `breakpoint` is an object
json::object to_json(const BreakpointEventBody& b);

}  // namespace dlvidx::dap
