#include "dap-shim/breakpoint_table.h"

#include <algorithm>

namespace dlvidx::dap {

ShimBreakpoint BreakpointTable::resolve(const std::string& client_path,
                                        const SourceBreakpoint& want) {
  index::Diagnosis d = index_.diagnose(client_path, want.line);
  ShimBreakpoint bp;
  bp.requested_line = want.line;
  bp.line = d.verified() ? d.line : want.line;
  bp.condition = want.condition;
  bp.hitCondition = want.hitCondition;
  bp.message = std::move(d.message);
  bp.warning = std::move(d.warning);
  bp.pcs = std::move(d.pcs);
  return bp;
}

bool BreakpointTable::first_report(const std::string& path, int64_t line,
                                   const std::string& message) {
  return reported_.insert({path, line, message}).second;
}

void BreakpointTable::forwarded(int64_t seq, std::string path, std::vector<int64_t> lines) {
  if (forwarded_.size() > 1000) forwarded_.erase(forwarded_.begin());  // dlv never answered them
  forwarded_[seq] = {std::move(path), std::move(lines)};
}

std::optional<BreakpointTable::Forwarded> BreakpointTable::take_forwarded(int64_t seq) {
  auto it = forwarded_.find(seq);
  if (it == forwarded_.end()) return std::nullopt;
  Forwarded f = std::move(it->second);
  forwarded_.erase(it);
  return f;
}

int64_t BreakpointTable::id_for(const std::string& path, int64_t requested_line) {
  auto [it, fresh] = ids_.try_emplace({path, requested_line}, next_id_);
  if (fresh) next_id_++;
  return it->second;
}

void BreakpointTable::manage(const std::string& path, ManagedSource src) {
  // dlv may still hold breakpoints for this source from before the index was
  // ready: clear them there first.
  if (dlv_sources_.erase(path))
    dlv_.call("setBreakpoints", {{"source", to_json(src.source)}, {"breakpoints", json::array{}}},
              [](const json::object&) {});
  sources_[path] = std::move(src);
}

const ManagedSource* BreakpointTable::source(const std::string& path) const {
  auto it = sources_.find(path);
  return it == sources_.end() ? nullptr : &it->second;
}

void BreakpointTable::release(const std::string& path) {
  auto it = sources_.find(path);
  if (it == sources_.end()) return;
  bool had = std::any_of(it->second.bps.begin(), it->second.bps.end(),
                         [](auto& b) { return !b.pcs.empty(); });
  sources_.erase(it);
  if (had) rearm([](const json::object&) {});
}

void BreakpointTable::set_dlv_holds(const std::string& path, bool holds) {
  if (holds)
    dlv_sources_.insert(path);
  else
    dlv_sources_.erase(path);
}

void BreakpointTable::hand_back_to_dlv(spdlog::logger& log) {
  if (sources_.empty()) return;
  log.info("restart: handing {} sources back to dlv", sources_.size());
  for (auto& [path, src] : sources_) {
    json::value bps = src.breakpoints.is_array() ? src.breakpoints : json::value(json::array{});
    dlv_.call("setBreakpoints", {{"source", to_json(src.source)}, {"breakpoints", bps}},
              [](const json::object&) {});
    dlv_sources_.insert(path);
  }
  sources_.clear();
  rearm([](const json::object&) {});  // only the client's own instruction breakpoints remain
}

void BreakpointTable::rearm(Armed done) {
  queue_.push_back(std::move(done));
  if (!arming_) run_queue();
}

void BreakpointTable::run_queue() {
  if (queue_.empty()) {
    arming_ = false;
    idle_();
    return;
  }
  arming_ = true;
  // The union: the client's own instruction breakpoints first, then one per
  // armed address (two breakpoints on one address share it).
  json::array list;
  for (const auto& ib : client_instruction_) list.push_back(to_json(ib));
  const size_t n_client = list.size();
  std::vector<std::vector<std::pair<std::string, size_t>>>
      owners;                     // per union entry: (path, bp index)
  std::map<uint64_t, size_t> at;  // pc -> union entry
  for (auto& [path, src] : sources_)
    for (size_t i = 0; i < src.bps.size(); i++)
      for (uint64_t pc : src.bps[i].pcs) {
        auto [it, fresh] = at.try_emplace(pc, owners.size());
        if (fresh) {
          list.push_back(to_json(InstructionBreakpoint{
              fmt::format("{:#x}", pc), src.bps[i].condition, src.bps[i].hitCondition}));
          owners.emplace_back();
        }
        owners[it->second].emplace_back(path, i);
      }
  // (Client messages are held while arming, so sources_ cannot change before the answer.)
  dlv_.call("setInstructionBreakpoints", {{"breakpoints", std::move(list)}},
            [this, n_client, owners](const json::object& resp) { armed(resp, n_client, owners); });
}

void BreakpointTable::armed(
    const json::object& resp, size_t n_client,
    const std::vector<std::vector<std::pair<std::string, size_t>>>& owners) {
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
        if (b)
          bp.message =
              get_string(*b, "message").value_or(std::string(index::kUnableToSetBreakpoint));
      }
      if (dlv_id) dlv_to_shim_[dlv_id].push_back(bp.id);
    }
  }
  Armed done = std::move(queue_.front());
  queue_.pop_front();
  done(resp);
  run_queue();
}

const std::vector<int64_t>* BreakpointTable::shim_ids(int64_t dlv_id) const {
  auto it = dlv_to_shim_.find(dlv_id);
  return it == dlv_to_shim_.end() ? nullptr : &it->second;
}

std::pair<const ManagedSource*, const ShimBreakpoint*> BreakpointTable::find(int64_t id) const {
  for (auto& [path, src] : sources_)
    for (const ShimBreakpoint& b : src.bps)
      if (b.id == id) return {&src, &b};
  return {nullptr, nullptr};
}

}  // namespace dlvidx::dap
