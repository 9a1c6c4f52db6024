// DIE navigation with libdwarf's failures turned into dlvidx::Error (internal.h).
#include "index/dwarf/internal.h"

namespace dlvidx::index::dwarf {

void DieReader::fail_unit(const std::string& what, const std::string& why) const {
  fail("{}: malformed DWARF in unit at {:#x}: {}: {}", path_, unit_off_, what, why);
}

uint64_t DieReader::die_offset(Dwarf_Die d) const {
  Dwarf_Off off = 0;
  DwarfError err(dbg_);
  check(dwarf_dieoffset(d, &off, err.out()), err, "DIE offset");
  return off;
}

Dwarf_Half DieReader::tag(Dwarf_Die d) const {
  Dwarf_Half t = 0;
  DwarfError err(dbg_);
  check(dwarf_tag(d, &t, err.out()), err, "DIE tag at {:#x}", die_offset(d));
  return t;
}

Dwarf_Die DieReader::child(Dwarf_Die d) const {
  Dwarf_Die c = nullptr;
  DwarfError err(dbg_);
  int rc = dwarf_child(d, &c, err.out());
  if (rc == DW_DLV_NO_ENTRY) return nullptr;
  check(rc, err, "children of DIE {:#x}", die_offset(d));
  return c;
}

Dwarf_Die DieReader::sibling(Dwarf_Die d) const {
  Dwarf_Die s = nullptr;
  DwarfError err(dbg_);
  int rc = dwarf_siblingof_b(dbg_, d, true, &s, err.out());
  if (rc == DW_DLV_NO_ENTRY) return nullptr;
  check(rc, err, "sibling of DIE {:#x}", die_offset(d));
  return s;
}

}  // namespace dlvidx::index::dwarf
