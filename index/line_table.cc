#include "index/line_table.h"

#include <algorithm>

namespace dlvidx::index {

LineTableQuery::LineTableQuery(const LineTable& lt) : rows_(lt.rows) {
  size_t b = 0;
  for (size_t i = 0; i < rows_.size(); i++) {
    if (rows_[i].end_sequence() || i + 1 == rows_.size()) {
      bool mono = true;
      for (size_t k = b + 1; k <= i; k++) mono = mono && rows_[k - 1].pc <= rows_[k].pc;
      seqs_.push_back({b, i + 1, mono});
      b = i + 1;
    }
  }
  for (uint32_t k = 0; k < seqs_.size(); k++) {
    const Sequence& s = seqs_[k];
    if (s.monotonic)
      by_first_.push_back({rows_[s.begin].pc, rows_[s.end - 1].pc, k});
    else
      unordered_.push_back(k);
  }
  std::sort(by_first_.begin(), by_first_.end(),
            [](const Span& a, const Span& b) { return a.first < b.first; });
  uint64_t m = 0;
  for (const Span& sp : by_first_) max_last_.push_back(m = std::max(m, sp.last));
}

uint64_t LineTableQuery::last_address(size_t i) const {
  if (i == 0 || rows_[i - 1].end_sequence()) return UINT64_MAX;
  return rows_[i - 1].pc;
}

size_t LineTableQuery::hit_in(const Sequence& s, uint64_t base) const {
  auto hit = [&](size_t i) {
    const LineRow& r = rows_[i];
    uint64_t last = last_address(i);
    return (r.pc > base && last != UINT64_MAX && base >= last) ||
           (r.pc == base && !r.end_sequence());
  };
  if (!s.monotonic) {
    for (size_t i = s.begin; i < s.end; i++)
      if (hit(i)) return i;
    return npos;
  }
  // Sorted: the first candidate is the first row at or past base.
  auto it = std::lower_bound(rows_.begin() + s.begin, rows_.begin() + s.end, base,
                             [](const LineRow& r, uint64_t pc) { return r.pc < pc; });
  for (size_t i = it - rows_.begin(); i < s.end; i++) {
    if (hit(i)) return i;
    if (rows_[i].pc > base) break;  // later rows of this sequence cannot hit
  }
  return npos;
}

// Delve runs the machine from the start of the CU's program and stops at the
// first hit; sequences that cannot contain base are skipped, the earliest hit
// in program order wins.
size_t LineTableQuery::position(uint64_t base) const {
  size_t best = npos;
  auto k = std::upper_bound(by_first_.begin(), by_first_.end(), base,
                            [](uint64_t b, const Span& sp) { return b < sp.first; }) -
           by_first_.begin();
  for (ptrdiff_t j = k - 1; j >= 0 && max_last_[j] >= base; j--)
    if (by_first_[j].last >= base) best = std::min(best, hit_in(seqs_[by_first_[j].seq], base));
  for (uint32_t q : unordered_) best = std::min(best, hit_in(seqs_[q], base));
  return best;
}

uint32_t LineTableQuery::pc_to_line(uint64_t base, uint64_t pc) const {
  size_t i = position(base);
  if (i == npos) {
    // The state machine ran off the end: Delve answers from its final state.
    if (!rows_.empty() && !rows_.back().end_sequence() && base <= pc) return rows_.back().line;
    return 0;
  }
  uint64_t last = last_address(i);
  if (last > pc && last != UINT64_MAX) return 0;
  for (; i < rows_.size(); i++) {
    const LineRow& r = rows_[i];
    uint64_t la = last_address(i);
    if (r.pc > pc && la != UINT64_MAX && pc >= la) return rows_[i - 1].line;
    if (r.pc == pc && !r.end_sequence()) return r.line;
  }
  if (!rows_.empty() && !rows_.back().end_sequence()) return rows_.back().line;
  return 0;
}

template <typename Pred>
std::optional<LineRow> LineTableQuery::scan_from_entry(uint64_t start, uint64_t end,
                                                       Pred pred) const {
  for (size_t i = position(start); i < rows_.size(); i++) {
    const LineRow& r = rows_[i];
    if (r.pc >= end || r.pc < start) return std::nullopt;
    if (pred(r)) return r;
  }
  return std::nullopt;
}

std::optional<LineRow> LineTableQuery::prologue_end_pc(uint64_t start, uint64_t end) const {
  return scan_from_entry(start, end, [](const LineRow& r) { return r.prologue_end(); });
}

std::optional<LineRow> LineTableQuery::first_stmt(uint64_t start, uint64_t end) const {
  return scan_from_entry(start, end, [](const LineRow& r) { return r.stmt(); });
}

}  // namespace dlvidx::index
