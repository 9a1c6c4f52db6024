// dlv's answer to stackTrace: a frame in a file the shim mapped from another path of the client's
// (a container's /app, another GOROOT, the module cache, ...) is named by the client's path, so
// the editor opens the file the breakpoint was set in. Everything else is left as dlv sent it.
#include "dap-shim/handlers/handlers.h"

namespace dlvidx::dap {

Outcome StackTraceResponseHandler::run(const Envelope& e, const StackTraceResponseBody& body,
                                       json::object& response) {
  if (!e.success) return Outcome::kForward;
  StackTraceResponseBody out = body;
  bool changed = false;
  for (StackFrame& f : out.stackFrames) {
    if (!f.source || !f.source->path) continue;
    if (auto local = index_.client_path_of(*f.source->path)) {
      f.source->path = *local;
      changed = true;
    }
  }
  if (!changed) return Outcome::kForward;
  response["body"] = to_json(out);
  return Outcome::kReplaced;
}

}  // namespace dlvidx::dap
