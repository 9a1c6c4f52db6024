// A unit's line table, as Delve's pkg/dwarf/line reads it (v1.27.1):
//  - file names: DWARF < 5: IncludeDirs = [DW_AT_comp_dir, dirs...], a relative
//    name is path.Join(IncludeDirs[dir], name); DWARF 5: IncludeDirs = the
//    header's dirs, every name is path.Join(IncludeDirs[dir], name).
//  - the row's file register: DWARF < 5 is 1-based, DWARF 5 0-based.
// Every row is kept, in program order, end_sequence rows included.
#include "index/dwarf/internal.h"
#include "index/dwarf/libdwarf_version.h"
#include "index/go_path.h"

namespace dlvidx::index::dwarf {
namespace {

// Frees the line context at the end of its scope (dwarf_set_de_alloc_flag(0)).
struct LineContextGuard {
  Dwarf_Line_Context ctx;
  ~LineContextGuard() { dwarf_srclines_dealloc_b(ctx); }
};

// Include directories as Delve indexes them.
std::vector<std::string> include_dirs(const DieReader& r, Dwarf_Line_Context ctx,
                                      Dwarf_Unsigned lversion, const std::string& comp_dir) {
  std::vector<std::string> dirs;
  if (lversion < 5) dirs.push_back(comp_dir);
  DwarfError err(r.dbg());
  Dwarf_Signed ndirs = 0;
  r.check(dwarf_srclines_include_dir_count(ctx, &ndirs, err.out()), err, "line table directories");
  // libdwarf numbers include directories from 1 before DWARF 5, from 0 after.
  const Dwarf_Signed first_dir = lversion < 5 ? 1 : 0;
  for (Dwarf_Signed i = first_dir; i < first_dir + ndirs; i++) {
    const char* name = nullptr;
    r.check(dwarf_srclines_include_dir_data(ctx, i, &name, err.out()), err,
            "line table directory {}", i);
    dirs.emplace_back(name ? name : "");
  }
  return dirs;
}

// File names as Delve spells them, in Delve's 0-based order.
std::vector<std::string> file_names(const DieReader& r, Dwarf_Line_Context ctx,
                                    Dwarf_Unsigned lversion, const std::vector<std::string>& dirs) {
  std::vector<std::string> files;
  DwarfError err(r.dbg());
  Dwarf_Signed base = 0, count = 0, end = 0;
  r.check(dwarf_srclines_files_indexes(ctx, &base, &count, &end, err.out()), err,
          "line table files");
  for (Dwarf_Signed i = base; i < end; i++) {
    const char* name = nullptr;
    Dwarf_Unsigned dir = 0, mtime = 0, len = 0;
    Dwarf_Form_Data16* md5 = nullptr;
    r.check(dwarf_srclines_files_data_b(ctx, i, &name, &dir, &mtime, &len, &md5, err.out()), err,
            "line table file {}", i);
    std::string p = name ? name : "";
    if (lversion < 5) {
      if (!delve_path_is_abs(p) && dir < dirs.size()) p = go_path_join(dirs[dir], p);
    } else if (dir < dirs.size()) {
      p = go_path_join(dirs[dir], p);
    }
    files.push_back(std::move(p));
  }
  return files;
}

void read_rows(const DieReader& r, Dwarf_Line_Context ctx, Dwarf_Unsigned lversion, bool is_go,
               LineTable& lt) {
  DwarfError err(r.dbg());
  Dwarf_Line* lines = nullptr;
  Dwarf_Signed nlines = 0;
  r.check(dwarf_srclines_from_linecontext(ctx, &lines, &nlines, err.out()), err, "line table rows");
  lt.rows.reserve(static_cast<size_t>(nlines));
  const bool one_based = lversion < 5;
  for (Dwarf_Signed i = 0; i < nlines; i++) {
    Dwarf_Line l = lines[i];
    Dwarf_Addr pc = 0;
    Dwarf_Unsigned lineno = 0, fileno = 0, isa = 0, disc = 0;
    Dwarf_Bool stmt = 0, endseq = 0, pend = 0, ebegin = 0;
    r.check(dwarf_lineaddr(l, &pc, err.out()), err, "row {} address", i);
    r.check(dwarf_lineno(l, &lineno, err.out()), err, "row {} line", i);
    r.check(dwarf_line_srcfileno(l, &fileno, err.out()), err, "row {} file", i);
    r.check(dwarf_linebeginstatement(l, &stmt, err.out()), err, "row {} is_stmt", i);
    r.check(dwarf_lineendsequence(l, &endseq, err.out()), err, "row {} end_sequence", i);
    r.check(dwarf_prologue_end_etc(l, &pend, &ebegin, &isa, &disc, err.out()), err, "row {} flags",
            i);
    LineRow row;
    row.pc = pc;
    row.line = static_cast<uint32_t>(lineno);
    // Go never refers to its dummy file 0 ("?"), so in a Go unit where the
    // library starts the register at 0, 0 means "the default, 1".
    if (kDwarf5FileRegisterStartsAt0 && !one_based && fileno == 0 && is_go) fileno = 1;
    uint64_t fi = one_based ? fileno - 1 : fileno;  // fileno 0 in v4 wraps: out of range
    row.file = fi < lt.files.size() ? static_cast<uint32_t>(fi) : kNoFile;
    row.flags = (stmt ? kStmt : 0) | (endseq ? kEndSequence : 0) | (pend ? kPrologueEnd : 0);
    lt.rows.push_back(row);
  }
}

}  // namespace

void read_line_table(const DieReader& r, Dwarf_Die cu_die, const std::string& comp_dir,
                     CompileUnit& cu) {
  Dwarf_Unsigned lversion = 0;
  Dwarf_Small table_count = 0;
  Dwarf_Line_Context ctx = nullptr;
  DwarfError err(r.dbg());
  int rc = dwarf_srclines_b(cu_die, &lversion, &table_count, &ctx, err.out());
  if (rc == DW_DLV_NO_ENTRY) return;
  r.check(rc, err, "line table header");
  LineContextGuard guard{ctx};
  cu.has_line_info = true;
  LineTable& lt = cu.lines;
  lt.version = static_cast<uint16_t>(lversion);
  lt.files = file_names(r, ctx, lversion, include_dirs(r, ctx, lversion, comp_dir));
  read_rows(r, ctx, lversion, cu.is_go, lt);
}

}  // namespace dlvidx::index::dwarf
