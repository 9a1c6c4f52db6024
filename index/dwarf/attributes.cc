// Decoding the attributes of one DIE that the index uses. A malformed
// attribute is treated as absent, as Delve's entry.Val type assertion does.
#include "index/dwarf/internal.h"

namespace dlvidx::index::dwarf {
namespace {

// The offset size dwarf_get_form_class is told: what tells a DW_AT_high_pc
// constant from an address does not depend on it.
constexpr Dwarf_Half kOffsetSize = 4;

// Decodes `at` (attribute number num, form `form`) into `a`; on a libdwarf
// error the attribute stays absent. Sets *keep when `a` is to hold `at` itself.
void decode(const DieReader& r, Dwarf_Attribute at, Dwarf_Half num, Dwarf_Half form, DieAttrs& a,
            bool* keep, DwarfError& err) {
  auto ok = [](int rc) { return rc == DW_DLV_OK; };
  switch (num) {
    case DW_AT_name: {
      char* s = nullptr;
      dwarf_formstring(at, &s, err.out());
      a.name = s;
      break;
    }
    case DW_AT_comp_dir: {
      char* s = nullptr;
      dwarf_formstring(at, &s, err.out());
      a.comp_dir = s;
      break;
    }
    case DW_AT_language:
      dwarf_formudata(at, &a.language, err.out());
      break;
    case DW_AT_inline: {
      Dwarf_Unsigned v = 0;
      dwarf_formudata(at, &v, err.out());
      a.has_inline = true;
      a.inline_val = static_cast<Dwarf_Signed>(v);
      break;
    }
    case DW_AT_abstract_origin:
      a.has_origin = ok(dwarf_global_formref(at, &a.origin, err.out()));
      break;
    case DW_AT_low_pc:
      a.has_low = ok(dwarf_formaddr(at, &a.low, err.out()));
      break;
    case DW_AT_high_pc: {
      Dwarf_Form_Class cls = dwarf_get_form_class(r.version(), num, kOffsetSize, form);
      if (cls == DW_FORM_CLASS_CONSTANT) {
        a.has_high = ok(dwarf_formudata(at, &a.high, err.out()));
        a.high_is_offset = true;
      } else {
        a.has_high = ok(dwarf_formaddr(at, &a.high, err.out()));
      }
      break;
    }
    case DW_AT_ranges:
      a.has_ranges = true;
      a.ranges_form = form;
      if (form == DW_FORM_sec_offset) {
        Dwarf_Off off = 0;
        dwarf_global_formref(at, &off, err.out());
        a.ranges_value = off;
      } else if (form == DW_FORM_rnglistx || form == DW_FORM_data4 || form == DW_FORM_data8) {
        dwarf_formudata(at, &a.ranges_value, err.out());
      }
      *keep = true;
      break;
    case DW_AT_trampoline: {
      Dwarf_Bool b = 0;
      dwarf_formflag(at, &b, err.out());
      a.trampoline = b;
      break;
    }
    case DW_AT_decl_line:
      dwarf_formudata(at, &a.decl_line, err.out());
      break;
    case DW_AT_call_file:
      a.has_call_file = ok(dwarf_formudata(at, &a.call_file, err.out()));
      break;
    case DW_AT_call_line:
      a.has_call_line = ok(dwarf_formudata(at, &a.call_line, err.out()));
      break;
    case DW_AT_stmt_list: {
      a.has_stmt_list = true;
      Dwarf_Off off = 0;
      if (ok(dwarf_global_formref(at, &off, err.out())))
        a.stmt_list = off;
      else
        dwarf_formudata(at, &a.stmt_list, err.out());
      break;
    }
    case DW_AT_producer: {
      char* p = nullptr;
      dwarf_formstring(at, &p, err.out());
      a.producer = p;
      break;
    }
    default:
      break;
  }
}

}  // namespace

DieAttrs read_attrs(const DieReader& r, Dwarf_Die d) {
  DieAttrs a;
  Dwarf_Attribute* list = nullptr;
  Dwarf_Signed n = 0;
  DwarfError err(r.dbg());
  int rc = dwarf_attrlist(d, &list, &n, err.out());
  if (rc == DW_DLV_NO_ENTRY) return a;
  r.check(rc, err, "attributes of DIE {:#x}", r.die_offset(d));
  for (Dwarf_Signed i = 0; i < n; i++) {
    Dwarf_Attribute at = list[i];
    Dwarf_Half num = 0, form = 0;
    dwarf_whatattr(at, &num, err.out());
    dwarf_whatform(at, &form, err.out());
    bool keep = false;
    decode(r, at, num, form, a, &keep, err);
    if (keep)
      a.ranges_attr.reset(at);
    else
      dwarf_dealloc_attribute(at);
  }
  dwarf_dealloc(r.dbg(), list, DW_DLA_LIST);
  if (a.has_low && a.has_high && a.high_is_offset) a.high += a.low;
  return a;
}

}  // namespace dlvidx::index::dwarf
