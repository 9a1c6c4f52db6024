// setBreakpoints: for a source that maps to the index, each line is resolved
// to the addresses dlv would pick (or snapped to the next line with code of
// its function), and everything is armed through setInstructionBreakpoints;
// answered once dlv has armed them. A line that cannot bind says why
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
  for (const auto& w : args.breakpoints) {
    ShimBreakpoint bp = table_.resolve(path, w);
    if (!w.hitCondition.empty() && bp.pcs.size() > 1)
      return to_dlv("hit condition on a line with several addresses");
    bp.id = table_.id_for(path, w.line);
    src.bps.push_back(std::move(bp));
  }
  table_.manage(path, std::move(src));
  table_.rearm([this, request = request_stub(request), path](const json::object&) {
    SetBreakpointsResponseBody body;
    size_t logged = 0, unlogged = 0;  // a request may carry thousands of lines: log a few
    if (const ManagedSource* s = table_.source(path))
      for (const ShimBreakpoint& bp : s->bps) {
        Breakpoint b;
        b.id = bp.id;
        b.verified = bp.verified;
        b.line = bp.line;
        b.source = s->source;
        if (!bp.verified)
          b.message = bp.message;
        else  // "moved from line N: ...", then a warning
          b.message = bp.line == bp.requested_line ? bp.warning
                      : bp.warning.empty()         ? bp.message
                                                   : bp.message + ". " + bp.warning;
        if (!bp.pcs.empty()) b.instructionReference = fmt::format("{:#x}", bp.pcs.front());
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
    client_.send(make_response(request, true, to_json(body)));
  });
  return Outcome::kAnswered;
}

}  // namespace dlvidx::dap
