#include "index/snap.h"

#include <fmt/format.h>

namespace dlvidx::index {

std::optional<uint32_t> LineSnapper::owner_function(uint32_t file, uint32_t line) {
  auto& spans = spans_[file];
  if (spans.empty()) {
    std::map<uint32_t, std::pair<uint32_t, uint32_t>> fn;
    for (uint32_t l : v_.lines_with_code(file, 0, UINT32_MAX)) {
      Location loc = v_.find_file_location(file, l);
      for (size_t i = 0; i < loc.pcs.size(); i++)
        if (auto f = v_.function_at(loc.pcs[i])) {
          auto [it, fresh] = fn.try_emplace(*f, l, l);
          if (!fresh) it->second.second = l;
        }
    }
    // A function's body starts at its `func` line, which may have no code.
    for (auto& [f, mm] : fn) {
      uint32_t decl = v_.function_decl_line(f);
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

SnappedLocation LineSnapper::snap(uint32_t file, int64_t requested) {
  SnappedLocation out;
  std::string_view path = v_.file_path(file);
  if (requested <= 0 || requested > UINT32_MAX) {
    out.message = no_statement_text(path, requested);
    return out;
  }
  auto take = [&](const Location& loc, uint32_t at) {
    out.status = LookupStatus::kFound;
    out.line = at;
    for (size_t i = 0; i < loc.pcs.size(); i++) out.pcs.push_back(loc.pcs[i]);
  };
  const auto line = static_cast<uint32_t>(requested);
  out.line = line;
  Location loc = v_.find_file_location(file, line);
  if (loc.status == LookupStatus::kFound) {
    take(loc, line);
    return out;
  }
  if (loc.status == LookupStatus::kNoAddresses) {
    out.status = LookupStatus::kNoAddresses;
    out.message = kUnableToSetBreakpoint;
    return out;
  }
  if (auto owner = owner_function(file, line)) {
    for (uint32_t next : v_.lines_with_code(file, line + 1, UINT32_MAX)) {
      Location nl = v_.find_file_location(file, next);
      bool same = false;
      for (size_t i = 0; i < nl.pcs.size() && !same; i++) same = v_.function_at(nl.pcs[i]) == owner;
      if (!same) continue;
      take(nl, next);
      out.message = fmt::format("moved from line {}: no statement on line {}", line, line);
      return out;
    }
  }
  out.message = no_statement_text(path, line);
  return out;
}

}  // namespace dlvidx::index
