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
  bp.verified = !bp.pcs.empty();  // until dlv's arming says otherwise
  return bp;
}

Breakpoint to_breakpoint(const ManagedSource& src, const ShimBreakpoint& bp) {
  Breakpoint b;
  b.id = bp.id;
  b.verified = bp.verified;
  b.line = bp.line;
  b.source = src.source;
  if (!bp.verified)
    b.message = bp.refused.empty() ? bp.message : bp.refused;
  else  // "moved from line N: ...", then a warning
    b.message = bp.line == bp.requested_line ? bp.warning
                : bp.warning.empty()         ? bp.message
                                             : bp.message + ". " + bp.warning;
  if (!bp.pcs.empty()) b.instructionReference = fmt::format("{:#x}", bp.pcs.front());
  return b;
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
  src.generation = next_generation_++;
  sources_[path] = std::move(src);
}

void BreakpointTable::told(const std::string& path) {
  auto it = sources_.find(path);
  if (it == sources_.end()) return;
  for (ShimBreakpoint& bp : it->second.bps) bp.told_verified = bp.verified;
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

void BreakpointTable::rearm_then_answer(Armed done) {
  pending_answers_++;
  rearm([this, done = std::move(done)](const json::object& resp) {
    pending_answers_--;
    done(resp);
  });
}

void BreakpointTable::run_queue() {
  if (queue_.empty()) {
    arming_ = false;
    idle_();
    return;
  }
  arming_ = true;
  armings_++;
  // Everything asked so far is answered by this one arming (coalescing).
  in_flight_.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
  queue_.clear();
  // The union: the client's own instruction breakpoints first, then one per
  // armed address (two breakpoints on one address share it).
  json::array list;
  for (const auto& ib : client_instruction_) list.push_back(to_json(ib));
  const size_t n_client = list.size();
  Owners owners;                  // per union entry
  std::map<uint64_t, size_t> at;  // pc -> union entry
  std::map<std::string, uint64_t> armed_sources;
  for (auto& [path, src] : sources_) {
    armed_sources[path] = src.generation;
    for (size_t i = 0; i < src.bps.size(); i++)
      for (uint64_t pc : src.bps[i].pcs) {
        auto [it, fresh] = at.try_emplace(pc, owners.size());
        if (fresh) {
          list.push_back(to_json(InstructionBreakpoint{
              fmt::format("{:#x}", pc), src.bps[i].condition, src.bps[i].hitCondition}));
          owners.emplace_back();
        }
        owners[it->second].emplace_back(path, src.generation, i);
      }
  }
  // A setBreakpoints answered while this is with dlv may replace a source:
  // the answer is applied only to the generations it armed (armed()).
  dlv_.call("setInstructionBreakpoints", {{"breakpoints", std::move(list)}},
            [this, n_client, owners = std::move(owners), armed_sources = std::move(armed_sources)](
                const json::object& resp) { armed(resp, n_client, owners, armed_sources); });
}

void BreakpointTable::armed(const json::object& resp, size_t n_client, const Owners& owners,
                            const std::map<std::string, uint64_t>& armed_sources) {
  auto current = [&](const std::string& path, uint64_t generation) -> ManagedSource* {
    auto it = sources_.find(path);
    return it != sources_.end() && it->second.generation == generation ? &it->second : nullptr;
  };
  for (const auto& [path, generation] : armed_sources)
    if (ManagedSource* src = current(path, generation))
      for (auto& bp : src->bps) {
        bp.verified = !bp.pcs.empty();
        bp.refused.clear();
      }
  const json::object* body = get_object(resp, "body");
  const json::array* got = body ? get_array(*body, "breakpoints") : nullptr;
  // A refused request (success false) refuses every address, with its message.
  const std::string refused =
      get_string(resp, "message").value_or(std::string(index::kUnableToSetBreakpoint));
  dlv_to_shim_.clear();
  size_t refused_n = 0;
  for (size_t k = 0; k < owners.size(); k++) {
    const json::object* b = got && n_client + k < got->size() && (*got)[n_client + k].is_object()
                                ? &(*got)[n_client + k].as_object()
                                : nullptr;
    bool ok = b && get_bool(*b, "verified").value_or(false);
    int64_t dlv_id = b ? get_int(*b, "id").value_or(0) : 0;
    refused_n += !ok;
    for (auto& [path, generation, i] : owners[k]) {
      ManagedSource* src = current(path, generation);
      if (!src) continue;  // replaced since: the next arming (queued) answers for it
      ShimBreakpoint& bp = src->bps[i];
      if (!ok) {
        bp.verified = false;
        bp.refused =
            b ? get_string(*b, "message").value_or(std::string(index::kUnableToSetBreakpoint))
              : refused;
      }
      if (dlv_id) dlv_to_shim_[dlv_id].push_back(bp.id);
    }
  }
  log_.debug("arming {} answered: {} addresses of {} sources, {} refused, for {} requests",
             armings_, owners.size(), armed_sources.size(), refused_n, in_flight_.size());
  std::vector<Armed> done = std::move(in_flight_);
  in_flight_.clear();
  for (Armed& d : done) d(resp);
  // What the client was told before dlv answered, and now is not so.
  for (const auto& [path, generation] : armed_sources)
    if (ManagedSource* src = current(path, generation))
      for (ShimBreakpoint& bp : src->bps)
        if (bp.told_verified && *bp.told_verified != bp.verified) {
          bp.told_verified = bp.verified;
          if (changed_) changed_(*src, bp);
        }
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
