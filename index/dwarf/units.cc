// One reader: its own Dwarf_Debug, walking the unit headers of .debug_info
// and reading the compile units in its range of ordinals (part.h).
#include <string_view>

#include "index/dwarf/internal.h"

namespace dlvidx::index::dwarf {
namespace {

constexpr Dwarf_Unsigned kLangGo = 0x16;

// Compiled with -l (Delve reads the same flag from DW_AT_producer to call a
// unit "not inlined"): the compiler ran no inliner, so the unit has no
// DW_TAG_inlined_subroutine and function subtrees need not be walked.
bool may_inline(const CompileUnit& cu, const char* producer) {
  std::string_view prod = producer ? producer : "";
  if (!cu.is_go) return true;
  auto semi = prod.find(';');
  return semi == std::string_view::npos || prod.substr(semi).find("-l") == std::string_view::npos;
}

void read_unit(DieReader& r, Dwarf_Die cu_die, Dwarf_Half version, ReadPart& part) {
  r.set_version(version);
  r.set_unit_offset(r.die_offset(cu_die));
  if (r.tag(cu_die) != DW_TAG_compile_unit) return;  // partial/type units: Delve skips them
  part.dies++;
  DieAttrs a = read_attrs(r, cu_die);
  a.ranges_attr.reset();  // a unit's own ranges are not used
  CompileUnit cu;
  cu.offset = r.unit_offset();
  cu.version = version;
  cu.is_go = a.language == kLangGo;
  std::string comp_dir = a.comp_dir ? a.comp_dir : "";
  cu.name = a.name ? a.name : "";
  r.set_unit_base(a.has_low ? a.low : 0);
  UnitScope unit;
  unit.in_runtime = cu.name == "runtime";
  unit.inlines = may_inline(cu, a.producer);
  cu.line_offset = a.stmt_list;
  if (a.has_stmt_list) read_line_table(r, cu_die, comp_dir, cu);  // after is_go is known
  unit.cu_index = static_cast<uint32_t>(part.cus.size());
  part.cus.push_back(std::move(cu));
  walk_functions(r, unit, cu_die, part);
}

}  // namespace

void read_units(const std::string& path, const DwarfSections& sections, size_t first, size_t end,
                ReadPart& part) {
  DwarfDebug dbg(path, sections);
  DieReader r(dbg.get(), path, part.dies);
  uint64_t next_unit = 0;
  for (size_t ordinal = 0;; ordinal++) {
    Dwarf_Unsigned hdr_len = 0, typeoff = 0, next = 0;
    Dwarf_Half version = 0, addr_size = 0, len_size = 0, ext_size = 0, cu_type = 0;
    Dwarf_Off abbrev = 0;
    Dwarf_Sig8 sig;
    DwarfError err(dbg.get());
    int rc =
        dwarf_next_cu_header_d(dbg.get(), true, &hdr_len, &version, &abbrev, &addr_size, &len_size,
                               &ext_size, &sig, &typeoff, &next, &cu_type, err.out());
    if (rc == DW_DLV_NO_ENTRY) break;
    r.check(rc, err, "reading a unit header after offset {:#x}", next_unit);
    next_unit = next;
    if (ordinal < first) continue;
    if (ordinal >= end) break;
    Dwarf_Die cu_die = nullptr;
    r.check(dwarf_siblingof_b(dbg.get(), nullptr, true, &cu_die, err.out()), err,
            "reading a unit DIE");
    DieGuard guard{cu_die};
    read_unit(r, cu_die, version, part);
  }
}

}  // namespace dlvidx::index::dwarf
