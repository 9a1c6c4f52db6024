// The Dwarf_Debug over our section views: libdwarf reads the sections through
// a custom Dwarf_Obj_Access_Interface (dwarf_object_init_b). No libelf, and no
// dwarf_init_path, which cannot read Go's compressed Mach-O and whose global
// hooks crash when mixed with custom-interface opens.
//
// The one libdwarf API difference index/dwarf/ has to bridge is here: the
// access table of 20210528 or of 0.x (libdwarf_version.h), and the one call
// renamed between them (dealloc_ranges).
#include <utility>

#include "index/dwarf/internal.h"

namespace dlvidx::index::dwarf {
namespace {

struct Obj {
  std::vector<std::pair<std::string, Bytes>> sections;  // [0] is an empty dummy
  uint64_t bytes = 0;                                   // of all the sections
};

// The callbacks, for both interfaces: 20210528's Dwarf_Obj_Access_Methods
// (Dwarf_Half indexes, Dwarf_Endianness) and 0.x's Dwarf_Obj_Access_Methods_a
// (om_ fields, Dwarf_Unsigned indexes, a file size). Section 0 is a dummy,
// as SHT_NULL is in ELF.
template <typename Index, typename Section>
int get_section_info(void* o, Index i, Section* out, int* err) {
  auto* obj = static_cast<Obj*>(o);
  if (i >= obj->sections.size()) return DW_DLV_NO_ENTRY;
  *out = {};
#if DLVIDX_LIBDWARF_0
  out->as_type = i == 0 ? 0 : 1;  // SHT_NULL, SHT_PROGBITS
  out->as_size = obj->sections[i].second.size();
  out->as_name = obj->sections[i].first.c_str();
  out->as_entrysize = 1;
#else
  out->type = i == 0 ? 0 : 1;
  out->size = obj->sections[i].second.size();
  out->name = obj->sections[i].first.c_str();
#endif
  return DW_DLV_OK;
}
Dwarf_Small get_length_size(void*) { return 4; }
Dwarf_Small get_pointer_size(void*) { return 8; }
Dwarf_Unsigned get_section_count(void* o) { return static_cast<Obj*>(o)->sections.size(); }
template <typename Index>
int load_section(void* o, Index i, Dwarf_Small** data, int* err) {
  auto* obj = static_cast<Obj*>(o);
  if (i >= obj->sections.size()) return DW_DLV_NO_ENTRY;
  static Dwarf_Small empty = 0;
  Bytes b = obj->sections[i].second;
  *data = b.empty() ? &empty : const_cast<Dwarf_Small*>(b.data());
  return DW_DLV_OK;
}

#if DLVIDX_LIBDWARF_0
Dwarf_Small get_byte_order(void*) { return DW_END_little; }
// 0.x checks each section's size against the object's: the sections are views
// (decompressed ones among them), so the object is their total.
Dwarf_Unsigned get_filesize(void* o) { return static_cast<Obj*>(o)->bytes; }
const Dwarf_Obj_Access_Methods_a kMethods = {
    get_section_info<Dwarf_Unsigned, Dwarf_Obj_Access_Section_a>,
    get_byte_order,
    get_length_size,
    get_pointer_size,
    get_filesize,
    get_section_count,
    load_section<Dwarf_Unsigned>,
    nullptr};
using Interface = Dwarf_Obj_Access_Interface_a;
void set_interface(Interface& iface, Obj* obj) {
  iface.ai_object = obj;
  iface.ai_methods = &kMethods;
}
void finish(Dwarf_Debug dbg) { dwarf_object_finish(dbg); }
#else
Dwarf_Endianness get_byte_order(void*) { return DW_OBJECT_LSB; }
const Dwarf_Obj_Access_Methods kMethods = {get_section_info<Dwarf_Half, Dwarf_Obj_Access_Section>,
                                           get_byte_order,
                                           get_length_size,
                                           get_pointer_size,
                                           get_section_count,
                                           load_section<Dwarf_Half>,
                                           nullptr};
using Interface = Dwarf_Obj_Access_Interface;
void set_interface(Interface& iface, Obj* obj) {
  iface.object = obj;
  iface.methods = &kMethods;
}
void finish(Dwarf_Debug dbg) {
  Dwarf_Error err = nullptr;
  dwarf_object_finish(dbg, &err);
}
#endif

}  // namespace

void dealloc_ranges(Dwarf_Debug dbg, Dwarf_Ranges* ranges, Dwarf_Signed count) {
#if DLVIDX_LIBDWARF_0
  dwarf_dealloc_ranges(dbg, ranges, count);
#else
  dwarf_ranges_dealloc(dbg, ranges, count);
#endif
}

struct DwarfDebug::Access {
  Obj obj;
  Interface iface{};
};

DwarfDebug::DwarfDebug(const std::string& path, const DwarfSections& sections)
    : access_(std::make_unique<Access>()) {
  // Process-wide, and set once before the first Dwarf_Debug (a thread-safe
  // static): about 3x faster and ~55 MiB less on cmd/compile, in exchange for
  // freeing everything explicitly.
  static const bool explicit_dealloc = (dwarf_set_de_alloc_flag(0), true);
  (void)explicit_dealloc;
  Obj& obj = access_->obj;
  obj.sections.emplace_back("", Bytes{});
  for (const auto& [name, view] : sections.views)
    if (!view.empty()) {
      obj.sections.emplace_back(name, view);
      obj.bytes += view.size();
    }
  set_interface(access_->iface, &obj);
  DwarfError err;
  int rc =
      dwarf_object_init_b(&access_->iface, nullptr, nullptr, DW_GROUPNUMBER_ANY, &dbg_, err.out());
  if (rc != DW_DLV_OK)
    fail("{}: cannot read DWARF: {}", path,
         rc == DW_DLV_ERROR ? err.message() : "no DWARF sections");
}

DwarfDebug::~DwarfDebug() {
  if (dbg_) finish(dbg_);
}

}  // namespace dlvidx::index::dwarf
