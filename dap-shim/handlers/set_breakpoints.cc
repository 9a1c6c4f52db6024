// setBreakpoints: for a source that maps to the index, each line is resolved
// to the addresses dlv would pick (or snapped to the next line with code of
// its function), and everything is armed through setInstructionBreakpoints.
// The answer comes from the index at once, and the arming follows: every
// later client request but another such setBreakpoints waits (hold_queue.h)
// until dlv has armed, so nothing that could let the program run reaches dlv
// before the breakpoints the client set ahead of it; an address dlv then
// refuses is reported with a breakpoint event (reason changed, verified
// false, dlv's reason). A request with a condition or hit condition is
// answered once dlv has armed it instead: dlv judges the expression when it
// arms, and its verdict belongs in the answer. A line that cannot bind says why
// (index/diagnose.h), once in the log too. What the instruction path cannot
// express exactly goes to dlv's own setBreakpoints for the whole source: log
// points (dlv ignores logMessage on instruction breakpoints) and a hit
// condition on a line with several addresses. So does everything while the
// index is not ready (a request that comes while it is loading waits for it
// first); dlv's answer to those is set_breakpoints_response.cc. A session
// launched with noDebug has no debugger: answered here, nothing bound.
#include "dap-shim/handlers/handlers.h"

namespace dlvidx::dap {

namespace {
constexpr size_t kLogLines = 20;  // per request; the rest in one line
constexpr std::string_view kNoDebugText =
    "Breakpoints are not set: the program was launched with noDebug (Run Without Debugging).";
}  // namespace

void SetBreakpointsHandler::answer(const json::object& request, const std::string& path) {
  SetBreakpointsResponseBody body;
  size_t logged = 0, unlogged = 0;  // a request may carry thousands of lines: log a few
  if (const ManagedSource* s = table_.source(path))
    for (const ShimBreakpoint& bp : s->bps) {
      Breakpoint b = to_breakpoint(*s, bp);
      if (!bp.verified || !bp.warning.empty()) {
        if (logged == kLogLines) {
          unlogged++;
        } else if (table_.first_report(path, bp.requested_line, b.message)) {
          logged++;
          if (!bp.verified)
            log_.warn("breakpoint {}:{} not bound: {}", path, bp.requested_line, b.message);
          else
            log_.warn("breakpoint {}:{}: {}", path, bp.requested_line, bp.warning);
        }
      }
      body.breakpoints.push_back(std::move(b));
    }
  if (unlogged) log_.warn("{} more breakpoints in {} not bound or with warnings", unlogged, path);
  table_.told(path);
  client_.send(make_response(request, true, to_json(body)));
}

Outcome SetBreakpointsHandler::run(json::object& request, SetBreakpointsArguments& args) {
  const std::string path = args.source.path.value_or("");
  if (index_.no_debug()) {
    SetBreakpointsResponseBody body;
    size_t logged = 0;
    for (const auto& w : args.breakpoints) {
      Breakpoint b;
      b.verified = false;
      b.line = w.line;
      b.source = args.source;
      b.message = std::string(kNoDebugText);
      if (logged < kLogLines && table_.first_report(path, w.line, b.message) && ++logged)
        log_.warn("breakpoint {}:{} not bound: {}", path, w.line, b.message);
      body.breakpoints.push_back(std::move(b));
    }
    client_.send(make_response(request, true, to_json(body)));
    return Outcome::kAnswered;
  }
  auto to_dlv = [&](const char* why) {
    if (!path.empty()) {
      log_.debug("setBreakpoints {}: to dlv ({})", path, why);
      table_.release(path);
      table_.set_dlv_holds(path, !args.breakpoints.empty());
      std::vector<int64_t> lines;
      for (const auto& w : args.breakpoints) lines.push_back(w.line);
      if (index_.view()) table_.forwarded(get_int(request, "seq").value_or(0), path, lines);
    }
    return Outcome::kForward;
  };
  if (!index_.view() || !table_.dlv_can_arm() || path.empty()) return to_dlv("index not ready");
  auto file = index_.map_source(path);
  if (!file) return to_dlv("source not in the index");
  for (const auto& w : args.breakpoints)
    if (!w.logMessage.empty()) return to_dlv("log point");

  ManagedSource src;
  src.source = std::move(args.source);
  src.breakpoints = std::move(args.breakpoints_as_sent);
  bool judged_by_dlv = false;  // a condition: answered once dlv has armed (see above)
  for (const auto& w : args.breakpoints) {
    ShimBreakpoint bp = table_.resolve(path, w);
    if (!w.hitCondition.empty() && bp.pcs.size() > 1)
      return to_dlv("hit condition on a line with several addresses");
    judged_by_dlv = judged_by_dlv || !w.condition.empty() || !w.hitCondition.empty();
    bp.id = table_.id_for(path, w.line);
    src.bps.push_back(std::move(bp));
  }
  table_.manage(path, std::move(src));
  if (judged_by_dlv) {
    table_.rearm_then_answer([this, request = request_stub(request), path](const json::object&) {
      answer(request, path);
    });
  } else {
    answer(request, path);
    table_.rearm([](const json::object&) {});
  }
  return Outcome::kAnswered;
}

}  // namespace dlvidx::dap
