// read_dwarf (dwarf_model.h), the parallel driver: splits the units of
// .debug_info into contiguous ranges, reads each range with its own reader
// (units.cc, one Dwarf_Debug per range) on the worker threads, then merges
// the parts in unit order. The merge replays each part's function events
// in that order, so the model is the same whatever the number of threads.
#include <algorithm>
#include <cstdint>
#include <unordered_map>

#include "index/dwarf/libdwarf_version.h"
#include "index/dwarf/part.h"
#include "index/dwarf/prescan.h"
#include "index/dwarf_model.h"
#include "preload/threads.h"

namespace dlvidx::index {
namespace {

using dwarf::FnEvent;
using dwarf::ReadPart;

// Unit ordinals where each range starts, plus SIZE_MAX at the end: ranges of
// about equal size. More ranges than threads, handed out as threads finish:
// unit costs vary (runtime's unit is by far the largest), so this balances
// the work.
std::vector<size_t> range_bounds(const std::vector<uint64_t>& sizes) {
  uint64_t total = 0;
  for (uint64_t z : sizes) total += z;
  const size_t nt = std::max<size_t>(1, std::min<size_t>(4 * worker_threads(), sizes.size()));
  std::vector<size_t> bounds{0};
  uint64_t acc = 0;
  for (size_t u = 0; u < sizes.size(); u++) {
    acc += sizes[u];
    if (acc * nt >= total * bounds.size() && bounds.size() < nt && u + 1 < sizes.size())
      bounds.push_back(u + 1);
  }
  bounds.push_back(SIZE_MAX);  // the last reader also reports whatever follows
  return bounds;
}

// Delve's loader, replayed: one Function per abstract origin or concrete DIE
// (ctxt.lookupAbstractOrigin), fields overwritten in DIE order.
void replay(const ReadPart& p, uint32_t cu_base, std::unordered_map<uint64_t, uint32_t>& index,
            DwarfModel& m) {
  auto fn_for = [&](uint64_t off) -> Function& {
    auto [it, inserted] = index.try_emplace(off, static_cast<uint32_t>(m.functions.size()));
    if (inserted) m.functions.emplace_back();
    return m.functions[it->second];
  };
  for (const FnEvent& e : p.events) {
    uint32_t cu = cu_base + e.cu;
    switch (e.kind) {
      case FnEvent::kAbstract: {
        Function& fn = fn_for(e.off);
        fn.name = e.name;
        fn.offset = e.off;
        fn.cu = cu;
        fn.decl_line = e.decl_line;
        break;
      }
      case FnEvent::kConcreteInlined: {
        Function& fn = fn_for(e.origin);
        fn.offset = e.off;
        fn.entry = e.entry;
        fn.end = e.end;
        fn.cu = cu;
        break;
      }
      case FnEvent::kConcrete: {
        Function& fn = fn_for(e.off);
        fn.name = e.name;
        fn.entry = e.entry;
        fn.end = e.end;
        fn.offset = e.off;
        fn.cu = cu;
        fn.trampoline = e.trampoline;
        fn.decl_line = e.decl_line;
        break;
      }
      case FnEvent::kInlinedCall: {
        Function& fn = fn_for(e.origin);
        if (fn.cu == kNoCu) fn.cu = cu;
        break;
      }
    }
  }
}

}  // namespace

DwarfModel read_dwarf(const std::string& path, const DwarfSections& sections) {
  std::vector<size_t> bounds = range_bounds(dwarf::unit_sizes(path, sections.get(".debug_info")));
  std::vector<ReadPart> parts(bounds.size() - 1);
  if (dwarf::kRnglistsHeaderDoubleFree)
    dwarf::check_rnglists_headers(path, sections.get(".debug_rnglists"));
  run_tasks(parts.size(), [&](size_t k) {
    dwarf::read_units(path, sections, bounds[k], bounds[k + 1], parts[k]);
  });

  DwarfModel m;
  std::unordered_map<uint64_t, uint32_t> index;
  for (ReadPart& p : parts) {
    uint32_t base = static_cast<uint32_t>(m.cus.size());
    replay(p, base, index, m);
    for (auto& ic : p.inlined_calls) {
      ic.cu += base;
      m.inlined_calls.push_back(ic);
    }
    for (auto& [off, r] : p.inline_ranges) m.inline_ranges[off] = std::move(r);
    for (auto& cu : p.cus) m.cus.push_back(std::move(cu));
    m.dies += p.dies;
    if (!m.moduledata_addr) m.moduledata_addr = p.moduledata_addr;
  }
  return m;
}

}  // namespace dlvidx::index
