// dlv's answer to launch or attach: a debug/test build's binary exists now,
// and its index can be loaded (launch.cc noted which binary). Forwarded as sent.
#include "dap-shim/handlers/handlers.h"

namespace dlvidx::dap {

Outcome LaunchResponseHandler::run(const Envelope& e, const NoArguments&, json::object&) {
  index_.launch_answered(e.request_seq, e.success);
  return Outcome::kForward;
}

}  // namespace dlvidx::dap
