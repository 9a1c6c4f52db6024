// dlv's answer to a setBreakpoints the shim forwarded (a source the index has no unique file for,
// log points, ...): where dlv did not verify a line and the index can say why, the message is the
// index's reason (index/diagnose.h) instead of dlv's; dlv's own text goes to the log. Lines dlv
// verified are left as dlv answered them.
#include "dap-shim/handlers/handlers.h"

namespace dlvidx::dap {

Outcome SetBreakpointsResponseHandler::run(const Envelope& e,
                                           const SetBreakpointsResponseBody& body,
                                           json::object& response) {
  auto sent = table_.take_forwarded(e.request_seq);
  if (!sent || !e.success || !index_.view()) return Outcome::kForward;
  SetBreakpointsResponseBody out = body;
  bool changed = false;
  size_t logged = 0;  // a request may carry thousands of lines: log a few
  for (size_t i = 0; i < out.breakpoints.size() && i < sent->lines.size(); i++) {
    Breakpoint& b = out.breakpoints[i];
    if (b.verified) continue;
    index::Diagnosis d = index_.diagnose(sent->path, sent->lines[i]);
    if (d.verified() || d.message.empty()) continue;  // dlv knows better (e.g. a log point)
    if (++logged <= 20 && table_.first_report(sent->path, sent->lines[i], d.message))
      log_.warn("breakpoint {}:{} not bound: {} (dlv: {})", sent->path, sent->lines[i], d.message,
                b.message);
    b.message = std::move(d.message);
    changed = true;
  }
  if (!changed) return Outcome::kForward;
  response["body"] = to_json(out);
  return Outcome::kReplaced;
}

}  // namespace dlvidx::dap
