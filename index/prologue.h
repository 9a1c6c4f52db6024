// Delve's FirstPCAfterPrologue(fn, sameline=true) (pkg/proc/bininfo.go, disasm.go):
//  1. the first prologue_end row in [entry, end), if its line is the entry's line;
//  2. else disassemble the function and match Delve's split-stack prologue
//     patterns (amd64: MOV [MOV] then CMP JBE | LEA CMP JBE | MOV CMP JE LEA SUB CMP JBE;
//     arm64: LDR then MOV CMP B | SUB CMP B | CMP B ADD SUB MOV CMP B), all on the
//     entry's line; the instruction after the pattern, if also on that line;
//  3. if that is still the entry, the first is_stmt row in [entry, end).
// Note: with regabi (Go >= 1.17) amd64 prologues no longer start with a MOV of
// g, so step 2 rarely matches on amd64; on arm64 it does when step 1 fails.
// Delve 1.20.2 differs in step 3 only: it takes the first is_stmt row with
// the same file and line as the entry (FirstStmtForLine), not any is_stmt row.
#pragma once

#include <cstdint>

#include "index/dwarf_model.h"
#include "index/line_table.h"
#include "preload/object_file.h"

namespace dlvidx::index {

class PrologueFinder {
 public:
  PrologueFinder(const ObjectFile& obj, const MappedFile& file);
  ~PrologueFinder();
  PrologueFinder(const PrologueFinder&) = delete;
  PrologueFinder& operator=(const PrologueFinder&) = delete;

  // `lt` is the line table of fn's compile unit.
  uint64_t first_pc_after_prologue(const Function& fn, const LineTableQuery& lt);

  uint64_t disassembled() const { return disassembled_; }

 private:
  uint64_t by_disassembly(const Function& fn, const LineTableQuery& lt);

  const ObjectFile& obj_;
  const MappedFile& file_;
  size_t handle_ = 0;  // capstone csh
  bool ok_ = false;
  uint64_t disassembled_ = 0;
};

}  // namespace dlvidx::index
