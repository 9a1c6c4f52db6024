// setBreakpoints: for a source that maps to the index, each line is resolved
// to the addresses dlv would pick (or snapped to the next line with code of
// its function), and everything is armed through setInstructionBreakpoints;
// answered once dlv has armed them. What the instruction path cannot express
// exactly goes to dlv's own setBreakpoints for the whole source: log points
// (dlv ignores logMessage on instruction breakpoints) and a hit condition on
// a line with several addresses. So does everything while the index is not
// ready (a request that comes while it is loading waits for it first).
#include "dap-shim/handlers/handlers.h"

namespace dlvidx::dap {

Outcome SetBreakpointsHandler::run(json::object& request, SetBreakpointsArguments& args) {
  const std::string path = args.source.path.value_or("");
  auto to_dlv = [&](const char* why) {
    if (!path.empty()) {
      log_.debug("setBreakpoints {}: to dlv ({})", path, why);
      table_.release(path);
      table_.set_dlv_holds(path, !args.breakpoints.empty());
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
    ShimBreakpoint bp = table_.resolve(*file, w);
    if (!w.hitCondition.empty() && bp.pcs.size() > 1)
      return to_dlv("hit condition on a line with several addresses");
    bp.id = table_.id_for(path, w.line);
    src.bps.push_back(std::move(bp));
  }
  table_.manage(path, std::move(src));
  table_.rearm([this, request = request_stub(request), path](const json::object&) {
    SetBreakpointsResponseBody body;
    if (const ManagedSource* s = table_.source(path))
      for (const ShimBreakpoint& bp : s->bps) {
        Breakpoint b;
        b.id = bp.id;
        b.verified = bp.verified;
        b.line = bp.line;
        b.source = s->source;
        b.message = bp.verified && bp.line == bp.requested_line ? "" : bp.message;
        if (!bp.pcs.empty()) b.instructionReference = fmt::format("{:#x}", bp.pcs.front());
        body.breakpoints.push_back(std::move(b));
      }
    client_.send(make_response(request, true, to_json(body)));
  });
  return Outcome::kAnswered;
}

}  // namespace dlvidx::dap
