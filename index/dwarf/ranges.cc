// A DIE's PC ranges, as Go's (*dwarf.Data).Ranges(entry) gives them: DWARF 4
// range lists (.debug_ranges) and DWARF 5 rnglists (.debug_rnglists). An
// unreadable list ends the ranges where it stops being readable; it is not an
// error. (.debug_rnglists headers are checked before libdwarf sees them:
// prescan.cc.)
#include "index/dwarf/internal.h"

namespace dlvidx::index::dwarf {
namespace {

void range_list(const DieReader& r, Dwarf_Die d, const DieAttrs& a, std::vector<PcRange>& out) {
  Dwarf_Ranges* buf = nullptr;
  Dwarf_Signed n = 0;
  Dwarf_Unsigned bytes = 0;
  Dwarf_Off real = 0;
  DwarfError err(r.dbg());
  if (dwarf_get_ranges_b(r.dbg(), a.ranges_value, d, &real, &buf, &n, &bytes, err.out()) !=
      DW_DLV_OK)
    return;
  uint64_t base = r.unit_base();
  for (Dwarf_Signed i = 0; i < n; i++) {
    const Dwarf_Ranges& e = buf[i];
    if (e.dwr_type == DW_RANGES_END) break;
    if (e.dwr_type == DW_RANGES_ADDRESS_SELECTION) {
      base = e.dwr_addr2;
      continue;
    }
    out.push_back({base + e.dwr_addr1, base + e.dwr_addr2});
  }
  dealloc_ranges(r.dbg(), buf, n);
}

void rnglist(const DieReader& r, const DieAttrs& a, std::vector<PcRange>& out) {
  Dwarf_Rnglists_Head head = nullptr;
  Dwarf_Unsigned count = 0, global = 0;
  // libdwarf can return OK with the error set (a DW_RLE_base_addressx whose
  // .debug_addr index fails is marked unavailable, not an error): the holder
  // frees it either way.
  DwarfError err(r.dbg());
  if (dwarf_rnglists_get_rle_head(a.ranges_attr.get(), a.ranges_form, a.ranges_value, &head, &count,
                                  &global, err.out()) != DW_DLV_OK)
    return;
  for (Dwarf_Unsigned i = 0; i < count; i++) {
    unsigned len = 0, code = 0;
    Dwarf_Unsigned raw1 = 0, raw2 = 0, c1 = 0, c2 = 0;
    Dwarf_Bool unavailable = 0;
    if (dwarf_get_rnglists_entry_fields_a(head, i, &len, &code, &raw1, &raw2, &unavailable, &c1,
                                          &c2, err.out()) != DW_DLV_OK)
      break;
    if (code == DW_RLE_end_of_list) break;
    if (code == DW_RLE_base_addressx || code == DW_RLE_base_address) continue;
    if (!unavailable) out.push_back({c1, c2});
  }
  dwarf_dealloc_rnglists_head(head);
}

}  // namespace

std::vector<PcRange> die_ranges(const DieReader& r, Dwarf_Die d, DieAttrs& a) {
  std::vector<PcRange> out;
  if (a.has_low && a.has_high) out.push_back({a.low, a.high});
  if (a.has_ranges) {
    if (r.version() >= 5)
      rnglist(r, a, out);
    else
      range_list(r, d, a, out);
    a.ranges_attr.reset();
    a.has_ranges = false;
  }
  return out;
}

}  // namespace dlvidx::index::dwarf
