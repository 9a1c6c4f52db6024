// The DWARF facts the index is computed from, as plain structs: per compile
// unit its line table (Delve's DebugLineInfo: file names as Delve spells them,
// every row in program order), the functions (Delve's BinaryInfo.Functions),
// the inlined-call ranges of each concrete function, and the call sites of
// inlined calls (Delve's inlinedCallLines). index/dwarf/ fills it with
// libdwarf; nothing else in the project sees libdwarf.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "preload/dwarf_sections.h"

namespace dlvidx::index {

inline constexpr uint32_t kNoFile = UINT32_MAX;
inline constexpr uint32_t kNoCu = UINT32_MAX;

enum RowFlags : uint8_t { kStmt = 1, kEndSequence = 2, kPrologueEnd = 4 };

struct LineRow {
  uint64_t pc = 0;
  uint32_t file =
      kNoFile;  // index into LineTable::files; kNoFile when the register is out of range
  uint32_t line = 0;
  uint8_t flags = 0;
  bool stmt() const { return flags & kStmt; }
  bool end_sequence() const { return flags & kEndSequence; }
  bool prologue_end() const { return flags & kPrologueEnd; }
};

struct LineTable {
  uint16_t version = 0;
  std::vector<std::string> files;  // Delve's FileNames[i].Path, Delve's 0-based order
  std::vector<LineRow> rows;       // every row in program order, end_sequence rows included
  std::string file_name(uint32_t i) const { return i < files.size() ? files[i] : std::string(); }
};

struct CompileUnit {
  uint64_t offset = 0;
  uint16_t version = 0;  // .debug_info unit version
  std::string name;
  bool is_go = false;
  bool has_line_info = false;
  uint64_t line_offset = 0;  // DW_AT_stmt_list: where its line program starts in .debug_line
  LineTable lines;
};

struct PcRange {
  uint64_t lo = 0, hi = 0;
};

// One range of one DW_TAG_inlined_subroutine below a concrete function.
struct InlinedRange {
  uint64_t die_offset = 0;
  uint32_t depth = 0;
  PcRange range;
};

// Delve's Function: one per abstract origin or concrete subprogram. Fields are
// overwritten in DIE order exactly as Delve's loader does ("last one wins").
struct Function {
  std::string name;
  uint64_t entry = 0, end = 0;  // first range of the concrete DIE; 0,0 if never concrete
  uint64_t offset = 0;          // DIE whose tree Delve loads for this function
  uint32_t cu = kNoCu;
  bool trampoline = false;
  uint32_t decl_line = 0;  // DW_AT_decl_line (of the abstract origin for inlinable functions)
};

// A call site of an inlined call: Delve's inlinedCallLines[{file, line}] += lowpc.
struct InlinedCallSite {
  uint32_t cu = kNoCu;
  uint32_t file = kNoFile;  // index into cus[cu].lines.files
  uint32_t line = 0;
  uint64_t lowpc = 0;
};

struct DwarfModel {
  std::vector<CompileUnit> cus;
  std::vector<Function> functions;
  // Concrete subprogram DIE offset -> Delve's allInlineCallRanges of its tree
  // (deepest first, DIE order among equals).
  std::unordered_map<uint64_t, std::vector<InlinedRange>> inline_ranges;
  std::vector<InlinedCallSite> inlined_calls;
  uint64_t dies = 0;  // DIEs visited (for the build summary)
  // Link address of runtime.firstmoduledata (0 if absent): with its runtime
  // address, the load bias of a position-independent binary.
  uint64_t moduledata_addr = 0;
};

// Reads the DWARF of one binary. Throws dlvidx::Error naming `path`, the unit
// offset and libdwarf's reason on malformed input.
DwarfModel read_dwarf(const std::string& path, const DwarfSections& sections);

}  // namespace dlvidx::index
