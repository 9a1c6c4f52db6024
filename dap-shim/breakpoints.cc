// The shim's breakpoints: resolving a requested line through the index
// (snapping a line without code to the next line with code of the same
// function), and arming the union of all of them, plus the client's own
// instruction breakpoints, through dlv's setInstructionBreakpoints.
#include <algorithm>

#include "dap-shim/session.h"

namespace dlvidx::dap {

std::optional<uint32_t> Session::map_source(const std::string& client_path) {
  auto it = mapped_.find(client_path);
  if (it != mapped_.end()) return it->second;
  PathMapping m = map_client_path(*index(), client_path, substitute_);
  if (m.file)
    log_->info("source {} -> {} ({})", client_path, index()->file_path(*m.file), m.how);
  else
    log_->info("source {}: not in the index ({}); left to dlv", client_path, m.how);
  mapped_[client_path] = m.file;
  return m.file;
}

std::optional<uint32_t> Session::owner_function(uint32_t file, uint32_t line) {
  const index::IndexView& v = *index();
  auto& spans = spans_[file];
  if (spans.empty()) {
    std::map<uint32_t, std::pair<uint32_t, uint32_t>> fn;
    for (uint32_t l : v.lines_with_code(file, 0, UINT32_MAX)) {
      index::Location loc = v.find_file_location(file, l);
      for (size_t i = 0; i < loc.pcs.size(); i++)
        if (auto f = v.function_at(loc.pcs[i])) {
          auto [it, fresh] = fn.try_emplace(*f, l, l);
          if (!fresh) it->second.second = l;
        }
    }
    // A function's body starts at its `func` line, which may have no code.
    for (auto& [f, mm] : fn) {
      uint32_t decl = v.function_decl_line(f);
      spans.emplace_back(f, decl && decl < mm.first ? decl : mm.first, mm.second);
    }
    if (spans.empty()) spans.emplace_back(UINT32_MAX, 1, 0);  // marks "computed"
  }
  std::optional<uint32_t> best;
  uint32_t width = UINT32_MAX;
  for (auto& [f, lo, hi] : spans)
    if (f != UINT32_MAX && lo < line && line < hi && hi - lo < width) best = f, width = hi - lo;
  return best;
}

ShimBreakpoint Session::resolve(uint32_t file, const SourceBreakpoint& want) {
  const index::IndexView& v = *index();
  ShimBreakpoint bp;
  bp.requested_line = bp.line = want.line;
  bp.condition = want.condition;
  bp.hitCondition = want.hitCondition;
  std::string path(v.file_path(file));
  if (want.line <= 0 || want.line > UINT32_MAX) {
    bp.message = fmt::format("could not find statement at {}:{}, please use a line with a statement", path, want.line);
    return bp;
  }
  auto take = [&](const index::Location& loc) {
    for (size_t i = 0; i < loc.pcs.size(); i++) bp.pcs.push_back(loc.pcs[i] + load_bias_);  // runtime address
  };
  uint32_t line = static_cast<uint32_t>(want.line);
  index::Location loc = v.find_file_location(file, line);
  if (loc.status == index::LookupStatus::kFound) {
    take(loc);
    return bp;
  }
  if (loc.status == index::LookupStatus::kNoAddresses) {
    bp.message = "unable to set breakpoint";
    return bp;
  }
  // No code on this line: move to the next line with code of the same function.
  if (auto owner = owner_function(file, line)) {
    for (uint32_t next : v.lines_with_code(file, line + 1, UINT32_MAX)) {
      index::Location nl = v.find_file_location(file, next);
      bool same = false;
      for (size_t i = 0; i < nl.pcs.size() && !same; i++) same = v.function_at(nl.pcs[i]) == owner;
      if (!same) continue;
      take(nl);
      bp.line = next;
      bp.message = fmt::format("moved from line {}: no statement on line {}", line, line);
      return bp;
    }
  }
  bp.message = fmt::format("could not find statement at {}:{}, please use a line with a statement", path, line);
  return bp;
}

void Session::rearm(std::function<void(const json::object& response)> done) {
  rearm_queue_.push_back(std::move(done));
  if (!rearm_busy_) run_rearm_queue();
}

void Session::run_rearm_queue() {
  if (rearm_queue_.empty()) {
    rearm_busy_ = false;
    drain_held();
    return;
  }
  rearm_busy_ = true;
  // The union: the client's own instruction breakpoints first, then one per
  // armed address (two breakpoints on one address share it).
  json::array list;
  for (const auto& ib : client_instruction_) list.push_back(to_json(ib));
  const size_t n_client = list.size();
  std::vector<std::vector<std::pair<std::string, size_t>>> owners;  // per union entry: (path, bp index)
  std::map<uint64_t, size_t> at;                                    // pc -> union entry
  for (auto& [path, src] : sources_)
    for (size_t i = 0; i < src.bps.size(); i++)
      for (uint64_t pc : src.bps[i].pcs) {
        auto [it, fresh] = at.try_emplace(pc, owners.size());
        if (fresh) {
          list.push_back(to_json(InstructionBreakpoint{fmt::format("{:#x}", pc), src.bps[i].condition,
                                                       src.bps[i].hitCondition}));
          owners.emplace_back();
        }
        owners[it->second].emplace_back(path, i);
      }
  auto self = shared_from_this();
  call_dlv("setInstructionBreakpoints", {{"breakpoints", std::move(list)}},
           [this, self, n_client, owners](const json::object& resp) {
             dlv_to_shim_.clear();
             for (auto& [path, src] : sources_)
               for (auto& bp : src.bps)
                 if (!bp.pcs.empty()) bp.verified = true;
             const json::object* body = get_object(resp, "body");
             const json::array* got = body ? get_array(*body, "breakpoints") : nullptr;
             for (size_t k = 0; k < owners.size(); k++) {
               const json::object* b = got && n_client + k < got->size() && (*got)[n_client + k].is_object()
                                           ? &(*got)[n_client + k].as_object()
                                           : nullptr;
               bool ok = b && get_bool(*b, "verified").value_or(false);
               int64_t dlv_id = b ? get_int(*b, "id").value_or(0) : 0;
               for (auto& [path, i] : owners[k]) {
                 ShimBreakpoint& bp = sources_[path].bps[i];
                 if (!ok) {
                   bp.verified = false;
                   if (b) bp.message = get_string(*b, "message").value_or("unable to set breakpoint");
                 }
                 if (dlv_id) dlv_to_shim_[dlv_id].push_back(bp.id);
               }
             }
             auto done = std::move(rearm_queue_.front());
             rearm_queue_.pop_front();
             done(resp);
             run_rearm_queue();
           });
}

void Session::release_source(const std::string& path) {
  auto it = sources_.find(path);
  if (it == sources_.end()) return;
  bool had = std::any_of(it->second.bps.begin(), it->second.bps.end(), [](auto& b) { return !b.pcs.empty(); });
  sources_.erase(it);
  if (had) rearm([](const json::object&) {});
}

}  // namespace dlvidx::dap
