#include "index/file_line_policy.h"

#include <algorithm>
#include <numeric>
#include <optional>
#include <unordered_map>

#include "index/line_table.h"
#include "index/prologue.h"

namespace dlvidx::index {
namespace {

struct Occurrence {
  uint32_t file, line;
  uint64_t pc;
  bool stmt;
};

bool key_less(const Occurrence& a, const Occurrence& b) {
  if (a.file != b.file) return a.file < b.file;
  if (a.line != b.line) return a.line < b.line;
  return a.pc < b.pc;
}

class Policy {
 public:
  Policy(const DwarfModel& m, const ObjectFile& obj, const MappedFile& file)
      : m_(m), prologue_(obj, file), queries_(m.cus.size()) {}

  FileLineTable run() {
    collect_sources();
    sort_functions();
    collect_occurrences();
    evaluate_keys();
    out_.disassembled = prologue_.disassembled();
    return std::move(out_);
  }

 private:
  // Delve's bi.Sources, and each CU's file index -> global id.
  void collect_sources() {
    for (const auto& cu : m_.cus)
      for (const auto& f : cu.lines.files) out_.files.push_back(f);
    std::sort(out_.files.begin(), out_.files.end());
    out_.files.erase(std::unique(out_.files.begin(), out_.files.end()), out_.files.end());
    global_.resize(m_.cus.size());
    for (size_t c = 0; c < m_.cus.size(); c++)
      for (const auto& f : m_.cus[c].lines.files)
        global_[c].push_back(static_cast<uint32_t>(
            std::lower_bound(out_.files.begin(), out_.files.end(), f) - out_.files.begin()));
  }

  // Delve sorts bi.Functions by Entry (unstable; ties only among functions
  // without code). We sort stably so the table is deterministic.
  void sort_functions() {
    order_.resize(m_.functions.size());
    std::iota(order_.begin(), order_.end(), 0u);
    std::stable_sort(order_.begin(), order_.end(), [&](uint32_t a, uint32_t b) {
      return m_.functions[a].entry < m_.functions[b].entry;
    });
    for (uint32_t i : order_) {
      const Function& f = m_.functions[i];
      if (f.end > f.entry) {
        fn_slot_[i] = static_cast<uint32_t>(out_.functions.size());
        out_.functions.push_back({f.entry, f.end, f.name});
      }
    }
  }

  // Delve's PCToFunc: sort.Search over functions sorted by entry.
  const Function* pc_to_func(uint64_t pc, uint32_t* index) const {
    size_t lo = 0, hi = order_.size();
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      const Function& f = m_.functions[order_[mid]];
      if (pc <= f.entry || (f.entry <= pc && pc < f.end))
        hi = mid;
      else
        lo = mid + 1;
    }
    if (lo == order_.size()) return nullptr;
    const Function& f = m_.functions[order_[lo]];
    if (f.entry <= pc && pc < f.end) {
      *index = order_[lo];
      return &f;
    }
    return nullptr;
  }

  void collect_occurrences() {
    for (size_t c = 0; c < m_.cus.size(); c++) {
      for (const LineRow& r : m_.cus[c].lines.rows) {
        if (r.end_sequence() || r.file == kNoFile) continue;
        occ_.push_back({global_[c][r.file], r.line, r.pc, r.stmt()});
        out_.rows++;
        out_.stmt_rows += r.stmt();
      }
    }
    std::sort(occ_.begin(), occ_.end(), key_less);
    for (const auto& ic : m_.inlined_calls)
      inl_.push_back({global_[ic.cu][ic.file], ic.line, ic.lowpc, true});
    std::sort(inl_.begin(), inl_.end(), key_less);
  }

  const LineTableQuery& query(uint32_t cu) {
    if (!queries_[cu]) queries_[cu].emplace(m_.cus[cu].lines);
    return *queries_[cu];
  }

  uint64_t after_prologue(uint32_t fi) {
    auto it = prologue_cache_.find(fi);
    if (it != prologue_cache_.end()) return it->second;
    const Function& fn = m_.functions[fi];
    uint64_t pc = fn.entry;
    if (fn.cu != kNoCu && m_.cus[fn.cu].has_line_info)
      pc = prologue_.first_pc_after_prologue(fn, query(fn.cu));
    prologue_cache_.emplace(fi, pc);
    return pc;
  }

  // Walks the union of row keys and inlined-call keys in (file, line) order.
  void evaluate_keys() {
    size_t i = 0, j = 0;
    while (i < occ_.size() || j < inl_.size()) {
      bool take_rows;
      if (i == occ_.size())
        take_rows = false;
      else if (j == inl_.size())
        take_rows = true;
      else
        take_rows = !(inl_[j].file < occ_[i].file ||
                      (inl_[j].file == occ_[i].file && inl_[j].line < occ_[i].line));
      const Occurrence& k = take_rows ? occ_[i] : inl_[j];
      uint32_t file = k.file, line = k.line;
      auto end_of = [&](const std::vector<Occurrence>& v, size_t p) {
        while (p < v.size() && v[p].file == file && v[p].line == line) p++;
        return p;
      };
      size_t ie = take_rows ? end_of(occ_, i) : i;
      size_t je = end_of(inl_, j);
      if (take_rows) {
        evaluate(file, line, occ_.begin() + i, occ_.begin() + ie);
      } else {
        out_.inlined_fallback_keys++;
        evaluate(file, line, inl_.begin() + j, inl_.begin() + je);
      }
      i = ie;
      j = je;
    }
  }

  using It = std::vector<Occurrence>::const_iterator;

  void evaluate(uint32_t file, uint32_t line, It begin, It end) {
    FileLineResult res;
    res.file = file;
    res.line = line;
    // Step 2: group by containing function (PCs are sorted).
    std::vector<std::pair<uint32_t, std::vector<const Occurrence*>>> groups;
    std::unordered_map<uint32_t, size_t> group_of;
    for (It it = begin; it != end; ++it) {
      uint32_t fi = 0;
      if (!pc_to_func(it->pc, &fi)) continue;
      auto [g, inserted] = group_of.try_emplace(fi, groups.size());
      if (inserted) groups.push_back({fi, {}});
      groups[g->second].second.push_back(&*it);
    }
    for (auto& [fi, pcs] : groups) {
      const Function& fn = m_.functions[fi];
      if (fn.name.find("\xc2\xb7" "dwrap\xc2\xb7") != std::string::npos || fn.trampoline) continue;
      // Step 3: split by the deepest inlined call containing each PC.
      static const std::vector<InlinedRange> kNone;
      auto ir = m_.inline_ranges.find(fn.offset);
      const auto& inl = ir == m_.inline_ranges.end() ? kNone : ir->second;
      std::vector<std::pair<uint64_t, std::vector<const Occurrence*>>> parts;
      for (const Occurrence* o : pcs) {
        uint64_t off = fn.offset;
        for (const auto& r : inl)
          if (r.range.lo <= o->pc && o->pc < r.range.hi) {
            off = r.die_offset;
            break;
          }
        auto p = std::find_if(parts.begin(), parts.end(), [&](auto& x) { return x.first == off; });
        if (p == parts.end()) {
          parts.push_back({off, {}});
          p = parts.end() - 1;
        }
        p->second.push_back(o);
      }
      // Steps 4 and 5.
      for (auto& [off, ps] : parts) {
        uint64_t sel = 0;
        for (const Occurrence* o : ps)
          if (o->stmt) {
            sel = o->pc;
            break;
          }
        if (sel == 0 && !ps.empty()) sel = ps.front()->pc;
        if (sel == 0) continue;
        if (off == fn.offset && sel == fn.entry) {
          uint64_t moved = after_prologue(fi);
          out_.prologue_moves += moved != sel;
          sel = moved;
        }
        res.pcs.push_back(sel);
      }
    }
    std::sort(res.pcs.begin(), res.pcs.end());
    res.pcs.erase(std::unique(res.pcs.begin(), res.pcs.end()), res.pcs.end());
    for (uint64_t pc : res.pcs) {
      uint32_t fi = 0;
      if (pc_to_func(pc, &fi))
        if (auto s = fn_slot_.find(fi); s != fn_slot_.end()) res.functions.push_back(s->second);
    }
    std::sort(res.functions.begin(), res.functions.end());
    res.functions.erase(std::unique(res.functions.begin(), res.functions.end()), res.functions.end());
    out_.keys.push_back(std::move(res));
  }

  const DwarfModel& m_;
  PrologueFinder prologue_;
  std::vector<std::optional<LineTableQuery>> queries_;
  FileLineTable out_;
  std::vector<std::vector<uint32_t>> global_;
  std::vector<uint32_t> order_;
  std::unordered_map<uint32_t, uint32_t> fn_slot_;
  std::vector<Occurrence> occ_, inl_;
  std::unordered_map<uint32_t, uint64_t> prologue_cache_;
};

}  // namespace

FileLineTable build_file_line_table(const DwarfModel& m, const ObjectFile& obj, const MappedFile& file) {
  return Policy(m, obj, file).run();
}

}  // namespace dlvidx::index
