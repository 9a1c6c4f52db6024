// Delve's line-table queries (pkg/dwarf/line/state_machine.go) over the rows of
// one compile unit: where Delve's state machine stops for a function entry
// (stateMachineForEntry), PCToLine, PrologueEndPC and FirstStmt. They keep
// Delve's quirks: positioning accepts the first row at the PC or the first row
// past it whose predecessor (in the same sequence) is at or before it;
// end_sequence rows count as rows.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "index/dwarf_model.h"

namespace dlvidx::index {

class LineTableQuery {
 public:
  explicit LineTableQuery(const LineTable& lt);

  // Row index where Delve's state machine stands after PCToLine(base), or npos.
  size_t position(uint64_t base) const;
  // Delve's lineInfo.PCToLine(base, pc): the line of pc (0 if none).
  uint32_t pc_to_line(uint64_t base, uint64_t pc) const;
  // Delve's PrologueEndPC(start, end): first prologue_end row in [start, end).
  std::optional<LineRow> prologue_end_pc(uint64_t start, uint64_t end) const;
  // Delve's FirstStmt(start, end): first is_stmt row in [start, end).
  std::optional<LineRow> first_stmt(uint64_t start, uint64_t end) const;

  static constexpr size_t npos = SIZE_MAX;

 private:
  // lastAddress of Delve's state machine standing at row i.
  uint64_t last_address(size_t i) const;
  template <typename Pred>
  std::optional<LineRow> scan_from_entry(uint64_t start, uint64_t end, Pred pred) const;

  struct Sequence {
    size_t begin, end;  // row index range, end_sequence row included
    bool monotonic;
  };
  // The first row of sequence s at which Delve's machine would stop for base.
  size_t hit_in(const Sequence& s, uint64_t base) const;

  const std::vector<LineRow>& rows_;
  std::vector<Sequence> seqs_;
  // Monotonic sequences by first PC, with the running maximum of their last
  // PC: Go writes one sequence per function, so a CU can have thousands.
  struct Span {
    uint64_t first, last;
    uint32_t seq;
  };
  std::vector<Span> by_first_;
  std::vector<uint64_t> max_last_;
  std::vector<uint32_t> unordered_;  // non-monotonic sequences, checked in full
};

}  // namespace dlvidx::index
