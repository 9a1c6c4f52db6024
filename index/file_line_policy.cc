#include "index/file_line_policy.h"

#include <algorithm>
#include <numeric>
#include <optional>
#include <unordered_map>

#include "index/line_table.h"
#include "index/prologue.h"
#include "preload/threads.h"

namespace dlvidx::index {
namespace {

struct Occurrence {
  uint32_t line;
  bool stmt;
  uint64_t pc;
};

bool line_pc_less(const Occurrence& a, const Occurrence& b) {
  return a.line != b.line ? a.line < b.line : a.pc < b.pc;
}

// Everything shared by the workers, computed once and then only read.
struct Shared {
  explicit Shared(const DwarfModel& model) : m(model) {}
  const DwarfModel& m;
  std::vector<std::string> files;                // Delve's bi.Sources
  std::vector<uint32_t> order;                   // functions sorted by entry (PCToFunc order)
  std::vector<uint32_t> slot;                    // function index -> FileLineTable::functions index
  std::vector<std::vector<Occurrence>> rows;     // per file: rows, sorted by (line, pc)
  std::vector<std::vector<Occurrence>> inlined;  // per file: inlined-call sites, sorted
  std::vector<std::optional<LineTableQuery>> queries;  // per CU
  uint64_t n_rows = 0, n_stmt = 0;

  // Delve's PCToFunc: sort.Search over functions sorted by entry.
  const Function* pc_to_func(uint64_t pc, uint32_t* index) const {
    size_t lo = 0, hi = order.size();
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      const Function& f = m.functions[order[mid]];
      if (pc <= f.entry || (f.entry <= pc && pc < f.end))
        hi = mid;
      else
        lo = mid + 1;
    }
    if (lo == order.size()) return nullptr;
    const Function& f = m.functions[order[lo]];
    if (f.entry <= pc && pc < f.end) {
      *index = order[lo];
      return &f;
    }
    return nullptr;
  }
};

void collect_sources(Shared& s, std::vector<std::vector<uint32_t>>& global) {
  for (const auto& cu : s.m.cus)
    for (const auto& f : cu.lines.files) s.files.push_back(f);
  std::sort(s.files.begin(), s.files.end());
  s.files.erase(std::unique(s.files.begin(), s.files.end()), s.files.end());
  global.resize(s.m.cus.size());
  for (size_t c = 0; c < s.m.cus.size(); c++)
    for (const auto& f : s.m.cus[c].lines.files)
      global[c].push_back(static_cast<uint32_t>(
          std::lower_bound(s.files.begin(), s.files.end(), f) - s.files.begin()));
}

// Delve sorts bi.Functions by Entry (unstable; ties only among functions
// without code). We sort stably so the table is deterministic.
void sort_functions(Shared& s, FileLineTable& out) {
  s.order.resize(s.m.functions.size());
  std::iota(s.order.begin(), s.order.end(), 0u);
  std::stable_sort(s.order.begin(), s.order.end(), [&](uint32_t a, uint32_t b) {
    return s.m.functions[a].entry < s.m.functions[b].entry;
  });
  s.slot.assign(s.m.functions.size(), UINT32_MAX);
  for (uint32_t i : s.order) {
    const Function& f = s.m.functions[i];
    if (f.end > f.entry) {
      s.slot[i] = static_cast<uint32_t>(out.functions.size());
      out.functions.push_back({f.entry, f.end, f.name, f.decl_line});
    }
  }
}

// Rows and inlined-call sites bucketed by file (a counting pass, no global sort).
void collect_occurrences(Shared& s, const std::vector<std::vector<uint32_t>>& global) {
  s.rows.resize(s.files.size());
  s.inlined.resize(s.files.size());
  for (size_t c = 0; c < s.m.cus.size(); c++)
    for (const LineRow& r : s.m.cus[c].lines.rows) {
      if (r.end_sequence() || r.file == kNoFile) continue;
      s.rows[global[c][r.file]].push_back({r.line, r.stmt(), r.pc});
      s.n_rows++;
      s.n_stmt += r.stmt();
    }
  for (const auto& ic : s.m.inlined_calls)
    s.inlined[global[ic.cu][ic.file]].push_back({ic.line, true, ic.lowpc});
}

// Evaluates Delve's steps for a range of files. One per thread: it owns its
// disassembler and its prologue cache.
class Worker {
 public:
  Worker(const Shared& s, const ObjectFile& obj, const MappedFile& file)
      : s_(s), prologue_(obj, file) {}

  void run(uint32_t file_begin, uint32_t file_end, FileLineTable& out) {
    for (uint32_t f = file_begin; f < file_end; f++) {
      auto& rows = const_cast<std::vector<Occurrence>&>(s_.rows[f]);
      auto& inl = const_cast<std::vector<Occurrence>&>(s_.inlined[f]);
      std::sort(rows.begin(), rows.end(), line_pc_less);  // this file is only ours
      std::sort(inl.begin(), inl.end(), line_pc_less);
      size_t i = 0, j = 0;
      while (i < rows.size() || j < inl.size()) {
        bool from_rows = j == inl.size() || (i < rows.size() && rows[i].line <= inl[j].line);
        uint32_t line = from_rows ? rows[i].line : inl[j].line;
        size_t ie = i, je = j;
        while (ie < rows.size() && rows[ie].line == line) ie++;
        while (je < inl.size() && inl[je].line == line) je++;
        if (from_rows) {
          evaluate(f, line, &rows[i], &rows[ie - 1] + 1,
                   out);  // rows win; inlined sites are a fallback
        } else {
          out.inlined_fallback_keys++;
          evaluate(f, line, &inl[j], &inl[je - 1] + 1, out);
        }
        i = ie;
        j = je;
      }
    }
    out.disassembled += prologue_.disassembled();
  }

 private:
  uint64_t after_prologue(uint32_t fi) {
    auto it = cache_.find(fi);
    if (it != cache_.end()) return it->second;
    const Function& fn = s_.m.functions[fi];
    uint64_t pc = fn.entry;
    if (fn.cu != kNoCu && s_.queries[fn.cu])
      pc = prologue_.first_pc_after_prologue(fn, *s_.queries[fn.cu]);
    cache_.emplace(fi, pc);
    return pc;
  }

  // Steps 2-5 for one key. PCs are sorted, and a function is one PC range, so
  // the PCs of a function are one run: no maps, no per-key allocation.
  void evaluate(uint32_t file, uint32_t line, const Occurrence* b, const Occurrence* e,
                FileLineTable& out) {
    FileLineResult res{file, line, static_cast<uint32_t>(out.pcs.size()), 0};
    const Occurrence* p = b;
    while (p != e) {
      uint32_t fi = 0;
      const Function* fn = s_.pc_to_func(p->pc, &fi);
      if (!fn) {
        p++;
        continue;
      }
      const Occurrence* run_end = p;
      while (run_end != e && run_end->pc >= fn->entry && run_end->pc < fn->end) run_end++;
      if (fn->name.find("\xc2\xb7"
                        "dwrap\xc2\xb7") == std::string::npos &&
          !fn->trampoline)
        select(fi, *fn, p, run_end, out);
      p = run_end;
    }
    std::sort(out.pcs.begin() + res.pc_begin, out.pcs.end());
    out.pcs.erase(std::unique(out.pcs.begin() + res.pc_begin, out.pcs.end()), out.pcs.end());
    res.pc_count = static_cast<uint32_t>(out.pcs.size() - res.pc_begin);
    out.keys.push_back(res);
  }

  // Steps 3-5 for the PCs of one function.
  void select(uint32_t fi, const Function& fn, const Occurrence* b, const Occurrence* e,
              FileLineTable& out) {
    static const std::vector<InlinedRange> kNone;
    auto ir = s_.m.inline_ranges.find(fn.offset);
    const auto& inl = ir == s_.m.inline_ranges.end() ? kNone : ir->second;
    parts_.clear();
    for (const Occurrence* o = b; o != e; o++) {
      uint64_t off = fn.offset;
      for (const auto& r : inl)
        if (r.range.lo <= o->pc && o->pc < r.range.hi) {
          off = r.die_offset;
          break;
        }
      Part* part = nullptr;
      for (Part& q : parts_)
        if (q.off == off) part = &q;
      if (!part)
        part = &parts_.emplace_back(Part{off, 0, o->pc});  // PCs ascend: the first is the smallest
      if (o->stmt && !part->stmt) part->stmt = o->pc;
    }
    for (const Part& q : parts_) {
      uint64_t sel = q.stmt ? q.stmt : q.first;
      if (sel == 0) continue;
      if (q.off == fn.offset && sel == fn.entry) {
        uint64_t moved = after_prologue(fi);
        out.prologue_moves += moved != sel;
        sel = moved;
      }
      out.pcs.push_back(sel);
    }
  }

  struct Part {
    uint64_t off, stmt, first;
  };
  const Shared& s_;
  PrologueFinder prologue_;
  std::unordered_map<uint32_t, uint64_t> cache_;
  std::vector<Part> parts_;
};

}  // namespace

FileLineTable build_file_line_table(const DwarfModel& m, const ObjectFile& obj,
                                    const MappedFile& file) {
  FileLineTable out;
  out.moduledata_addr = m.moduledata_addr;
  Shared s{m};
  std::vector<std::vector<uint32_t>> global;
  collect_sources(s, global);
  sort_functions(s, out);
  collect_occurrences(s, global);
  s.queries.resize(m.cus.size());
  for (size_t c = 0; c < m.cus.size(); c++)
    if (m.cus[c].has_line_info) s.queries[c].emplace(m.cus[c].lines);
  out.files = s.files;
  out.rows = s.n_rows;
  out.stmt_rows = s.n_stmt;

  // Split the files into contiguous ranges of about equal row counts; each
  // worker fills its own table; they are concatenated in file order, so the
  // result is the same whatever the thread count.
  const uint32_t nf = static_cast<uint32_t>(s.files.size());
  const unsigned nt = std::max(1u, std::min<unsigned>(worker_threads(), nf));
  std::vector<uint32_t> bounds{0};
  uint64_t per = s.n_rows / nt + 1, acc = 0;
  for (uint32_t f = 0; f < nf; f++) {
    acc += s.rows[f].size() + s.inlined[f].size();
    if (acc >= per * bounds.size() && bounds.size() < nt) bounds.push_back(f + 1);
  }
  bounds.push_back(nf);
  std::vector<FileLineTable> parts(bounds.size() - 1);
  run_parallel(parts.size(),
               [&](size_t k) { Worker(s, obj, file).run(bounds[k], bounds[k + 1], parts[k]); });
  for (auto& p : parts) {
    uint32_t base = static_cast<uint32_t>(out.pcs.size());
    for (auto& k : p.keys) k.pc_begin += base;
    out.keys.insert(out.keys.end(), p.keys.begin(), p.keys.end());
    out.pcs.insert(out.pcs.end(), p.pcs.begin(), p.pcs.end());
    out.inlined_fallback_keys += p.inlined_fallback_keys;
    out.prologue_moves += p.prologue_moves;
    out.disassembled += p.disassembled;
  }
  return out;
}

}  // namespace dlvidx::index
