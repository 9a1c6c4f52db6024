// Delve's FindFileLocation (pkg/proc/bininfo.go, v1.27.1), evaluated ahead of
// time for every file:line that has code. For each key:
//  1. collect the rows (PC, is_stmt) of that file:line from every compile unit
//     listing the file; if there are none, the low PCs of inlined calls made
//     from that line (Delve's inlinedCallLines), all counted as statements;
//  2. group the PCs by containing function (PCToFunc), skipping ·dwrap·
//     wrappers and trampolines;
//  3. split each group by the deepest inlined call containing the PC;
//  4. take the first is_stmt PC of each part, else its first PC;
//  5. if that is the function's entry (outside inlined calls), move past the
//     prologue (prologue.h).
// The result is sorted and deduplicated, as dlv reports breakpoint addresses.
// Delve 1.20.2 differs only in its error texts (no ", binary is stripped"
// variant) and in prologue.h's step 3. The tests check against 1.27.1.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "index/dwarf_model.h"
#include "preload/object_file.h"

namespace dlvidx::index {

// A concrete function, as PCToFunc sees it.
struct FunctionRange {
  uint64_t entry = 0, end = 0;
  std::string name;
  uint32_t decl_line = 0;
};

struct FileLineResult {
  uint32_t file = 0;  // index into FileLineTable::files
  uint32_t line = 0;
  uint32_t pc_begin =
      0;  // Delve's answer: FileLineTable::pcs[pc_begin, +pc_count), sorted, unique;
  uint32_t pc_count = 0;  // empty if every PC was in a skipped wrapper
};

struct FileLineTable {
  std::vector<std::string> files;        // Delve's bi.Sources: sorted, unique
  std::vector<FileLineResult> keys;      // sorted by (file, line)
  std::vector<uint64_t> pcs;             // the answers of all keys
  std::vector<FunctionRange> functions;  // sorted by entry (PCToFunc order)
  uint64_t rows = 0;                     // rows seen (not end_sequence)
  uint64_t stmt_rows = 0;
  uint64_t inlined_fallback_keys = 0;
  uint64_t prologue_moves = 0;
  uint64_t disassembled = 0;
  uint64_t moduledata_addr = 0;  // DwarfModel::moduledata_addr

  std::span<const uint64_t> pcs_of(const FileLineResult& r) const {
    return {pcs.data() + r.pc_begin, r.pc_count};
  }
};

FileLineTable build_file_line_table(const DwarfModel& m, const ObjectFile& obj,
                                    const MappedFile& file);

}  // namespace dlvidx::index
