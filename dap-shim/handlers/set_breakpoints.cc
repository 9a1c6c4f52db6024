// setBreakpoints: for a source that maps to the index, each line is resolved
// to the addresses dlv would pick (or snapped to the next line with code of
// its function), and everything is armed through setInstructionBreakpoints.
// What the instruction path cannot express exactly goes to dlv's own
// setBreakpoints for the whole source: log points (dlv ignores logMessage on
// instruction breakpoints) and a hit condition on a line with several
// addresses. So does everything while the index is not ready.
#include "dap-shim/session.h"

namespace dlvidx::dap {

bool Session::on_set_breakpoints(const json::object& req, std::string_view raw) {
  const json::object* args = get_object(req, "arguments");
  const json::object* source = args ? get_object(*args, "source") : nullptr;
  std::string path = source ? get_string(*source, "path").value_or("") : "";
  auto to_dlv = [&](const char* why) {
    if (!path.empty()) {
      log_->debug("setBreakpoints {}: to dlv ({})", path, why);
      release_source(path);
      if (args && !source_breakpoints(*args).empty()) dlv_sources_.insert(path);
      else dlv_sources_.erase(path);
    }
    return false;
  };
  if (!index() || !dlv_instruction_bps_ || path.empty()) return to_dlv("index not ready");
  auto file = map_source(path);
  if (!file) return to_dlv("source not in the index");
  std::vector<SourceBreakpoint> wants = source_breakpoints(*args);
  for (const auto& w : wants)
    if (!w.logMessage.empty()) return to_dlv("log point");

  ManagedSource src;
  src.source = *args->if_contains("source");
  if (auto* b = args->if_contains("breakpoints")) src.breakpoints = *b;
  src.file = *file;
  for (const auto& w : wants) {
    ShimBreakpoint bp = resolve(*file, w);
    if (!w.hitCondition.empty() && bp.pcs.size() > 1) return to_dlv("hit condition on a line with several addresses");
    auto [it, fresh] = ids_.try_emplace({path, w.line}, next_id_);
    if (fresh) next_id_++;
    bp.id = it->second;
    src.bps.push_back(std::move(bp));
  }
  // dlv may still hold breakpoints for this source from before the index was
  // ready: clear them there first.
  if (dlv_sources_.erase(path)) call_dlv("setBreakpoints", {{"source", src.source}, {"breakpoints", json::array{}}}, [](const json::object&) {});
  sources_[path] = std::move(src);
  json::object request = req;
  auto self = shared_from_this();
  rearm([this, self, request, path](const json::object&) {
    json::array out;
    auto it = sources_.find(path);
    if (it != sources_.end())
      for (const ShimBreakpoint& bp : it->second.bps) {
        Breakpoint b;
        b.id = bp.id;
        b.verified = bp.verified;
        b.line = bp.line;
        b.source = it->second.source;
        b.message = bp.verified && bp.line == bp.requested_line ? "" : bp.message;
        if (!bp.pcs.empty()) b.instructionReference = fmt::format("{:#x}", bp.pcs.front());
        out.push_back(to_json(b));
      }
    send_client(make_response(request, true, {{"breakpoints", std::move(out)}}));
  });
  return true;
}

}  // namespace dlvidx::dap
