// disconnect: the client's goes to dlv as sent, and the session waits for
// dlv's answer (no disconnect of the shim's own then); that answer goes to
// the client, and then the session ends.
#include "dap-shim/handlers/handlers.h"

namespace dlvidx::dap {

Outcome DisconnectHandler::run(json::object&, NoArguments&) {
  phase_.advance(Phase::kDisconnecting);
  return Outcome::kForward;
}

Outcome DisconnectResponseHandler::run(const Envelope&, const NoArguments&, json::object&) {
  end_();  // posted: runs after the answer is queued for the client
  return Outcome::kForward;
}

}  // namespace dlvidx::dap
