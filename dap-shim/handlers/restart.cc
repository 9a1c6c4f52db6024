// restart: dlv may rebuild the binary (debug/test) and keeps instruction
// breakpoints at their old addresses. So before dlv restarts, every source the
// shim armed is handed back to dlv's own setBreakpoints (dlv re-resolves them
// by file:line after the restart), and the index is dropped for the rest of
// the session: the binary on disk may be changing under it. Then forwarded.
#include "dap-shim/handlers/handlers.h"

namespace dlvidx::dap {

Outcome RestartHandler::run(json::object&, NoArguments&) {
  table_.hand_back_to_dlv(log_);
  index_.disable();
  return Outcome::kForward;
}

}  // namespace dlvidx::dap
