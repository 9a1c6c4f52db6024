// The only file that includes libdwarf. It hands libdwarf the section views
// through a custom Dwarf_Obj_Access_Interface (dwarf_object_init_b): no libelf,
// no dwarf_init_path (which cannot read Go's compressed Mach-O, and whose
// global hooks crash when mixed with custom-interface opens), always with a
// Dwarf_Error* (without one libdwarf calls abort() on bad input), and with
// dwarf_set_de_alloc_flag(0) (about 3x faster, ~55 MiB less on cmd/compile),
// so everything libdwarf allocates is freed here explicitly.
//
// What it reproduces of Delve (pkg/proc/bininfo.go, pkg/dwarf/line at v1.27.1):
//  - file names: DWARF < 5: IncludeDirs = [DW_AT_comp_dir, dirs...], a relative
//    name is path.Join(IncludeDirs[dir], name); DWARF 5: IncludeDirs = the
//    header's dirs, every name is path.Join(IncludeDirs[dir], name).
//  - the row's file register: DWARF < 5 is 1-based, DWARF 5 0-based.
//  - Functions, filled in DIE order with Delve's "last write wins" per
//    abstract origin; inlined calls recorded only along chains of
//    DW_TAG_inlined_subroutine directly below a subprogram (Delve skips
//    other children), while the inlined-call ranges used to split a
//    function's PCs come from its whole tree (lexical blocks included).
#include <libdwarf/dwarf.h>
#include <libdwarf/libdwarf.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "index/dwarf_model.h"
#include "index/go_path.h"
#include "preload/threads.h"
#include "preload/error.h"

namespace dlvidx::index {
namespace {

constexpr Dwarf_Unsigned kLangGo = 0x16;

// --- the object access interface over our section views --------------------

struct Obj {
  std::vector<std::pair<std::string, Bytes>> sections;  // [0] is an empty dummy
};

int get_section_info(void* o, Dwarf_Half i, Dwarf_Obj_Access_Section* out, int* err) {
  auto* obj = static_cast<Obj*>(o);
  if (i >= obj->sections.size()) return DW_DLV_NO_ENTRY;
  *out = {};
  out->type = i == 0 ? 0 : 1;  // SHT_NULL, SHT_PROGBITS
  out->size = obj->sections[i].second.size();
  out->name = obj->sections[i].first.c_str();
  return DW_DLV_OK;
}
Dwarf_Endianness get_byte_order(void*) { return DW_OBJECT_LSB; }
Dwarf_Small get_length_size(void*) { return 4; }
Dwarf_Small get_pointer_size(void*) { return 8; }
Dwarf_Unsigned get_section_count(void* o) { return static_cast<Obj*>(o)->sections.size(); }
int load_section(void* o, Dwarf_Half i, Dwarf_Small** data, int* err) {
  auto* obj = static_cast<Obj*>(o);
  if (i >= obj->sections.size()) return DW_DLV_NO_ENTRY;
  static Dwarf_Small empty = 0;
  Bytes b = obj->sections[i].second;
  *data = b.empty() ? &empty : const_cast<Dwarf_Small*>(b.data());
  return DW_DLV_OK;
}
const Dwarf_Obj_Access_Methods kMethods = {get_section_info, get_byte_order,  get_length_size,
                                           get_pointer_size, get_section_count, load_section,
                                           nullptr};

// --- the reader --------------------------------------------------------------

struct DieAttrs {
  const char* name = nullptr;
  const char* comp_dir = nullptr;
  Dwarf_Unsigned language = 0;
  bool has_inline = false;
  Dwarf_Signed inline_val = 0;
  bool has_origin = false;
  Dwarf_Off origin = 0;
  bool has_low = false, has_high = false, high_is_offset = false;
  Dwarf_Addr low = 0, high = 0;
  bool has_ranges = false;
  Dwarf_Half ranges_form = 0;
  Dwarf_Unsigned ranges_value = 0;
  Dwarf_Attribute ranges_attr = nullptr;  // kept alive for rnglists, freed by the caller
  bool trampoline = false;
  Dwarf_Unsigned decl_line = 0;
  bool has_call_file = false, has_call_line = false;
  Dwarf_Unsigned call_file = 0, call_line = 0;
  bool has_stmt_list = false;
  Dwarf_Unsigned stmt_list = 0;
  const char* producer = nullptr;
};

// What one reader produces for a contiguous range of units. Function updates
// are recorded as events in DIE order and replayed in unit order by
// read_dwarf, so the model is the same whatever the number of readers.
struct FnEvent {
  enum Kind : uint8_t { kAbstract, kConcreteInlined, kConcrete, kInlinedCall } kind;
  bool trampoline = false;
  uint32_t cu = 0;  // index into ReadPart::cus
  uint64_t off = 0, origin = 0, entry = 0, end = 0;
  uint32_t decl_line = 0;
  std::string name;
};

struct ReadPart {
  std::vector<CompileUnit> cus;
  std::vector<FnEvent> events;
  std::unordered_map<uint64_t, std::vector<InlinedRange>> inline_ranges;
  std::vector<InlinedCallSite> inlined_calls;  // cu: index into cus
  uint64_t dies = 0;
  uint64_t moduledata_addr = 0;  // link address of runtime.firstmoduledata (0: not seen)
};

class Reader {
 public:
  Reader(const std::string& path, const DwarfSections& s, ReadPart& m, size_t first_unit, size_t end_unit)
      : path_(path), m_(m), first_unit_(first_unit), end_unit_(end_unit) {
    obj_.sections.emplace_back("", Bytes{});
    for (const auto& [name, view] : s.views)
      if (!view.empty()) obj_.sections.emplace_back(name, view);
    iface_.object = &obj_;
    iface_.methods = &kMethods;
    Dwarf_Error err = nullptr;
    int rc = dwarf_object_init_b(&iface_, nullptr, nullptr, DW_GROUPNUMBER_ANY, &dbg_, &err);
    if (rc != DW_DLV_OK) {
      std::string why = rc == DW_DLV_ERROR ? dwarf_errmsg(err) : "no DWARF sections";
      if (err) dwarf_dealloc_error(nullptr, err);
      fail("{}: cannot read DWARF: {}", path_, why);
    }
  }
  ~Reader() {
    if (dbg_) {
      Dwarf_Error err = nullptr;
      dwarf_object_finish(dbg_, &err);
    }
  }

  void run() {
    for (;;) {
      Dwarf_Unsigned hdr_len = 0, typeoff = 0, next = 0;
      Dwarf_Half version = 0, addr_size = 0, len_size = 0, ext_size = 0, cu_type = 0;
      Dwarf_Off abbrev = 0;
      Dwarf_Sig8 sig;
      Dwarf_Error err = nullptr;
      int rc = dwarf_next_cu_header_d(dbg_, true, &hdr_len, &version, &abbrev, &addr_size, &len_size,
                                      &ext_size, &sig, &typeoff, &next, &cu_type, &err);
      if (rc == DW_DLV_NO_ENTRY) break;
      check(rc, err, "reading a unit header after offset {:#x}", next_unit_);
      next_unit_ = next;
      size_t ordinal = unit_ordinal_++;
      if (ordinal < first_unit_) continue;
      if (ordinal >= end_unit_) break;
      Dwarf_Die cu_die = nullptr;
      check(dwarf_siblingof_b(dbg_, nullptr, true, &cu_die, &err), err, "reading a unit DIE");
      DieGuard guard{cu_die};
      read_unit(cu_die, version);
    }
  }

 private:
  template <typename... A>
  void check(int rc, Dwarf_Error err, fmt::format_string<A...> what, A&&... a) {
    if (rc == DW_DLV_OK) return;
    std::string msg = rc == DW_DLV_ERROR && err ? dwarf_errmsg(err) : "no entry";
    if (err) dwarf_dealloc_error(dbg_, err);
    fail("{}: malformed DWARF in unit at {:#x}: {}: {}", path_, unit_off_,
         fmt::format(what, std::forward<A>(a)...), msg);
  }

  uint64_t die_offset(Dwarf_Die d) {
    Dwarf_Off off = 0;
    Dwarf_Error err = nullptr;
    check(dwarf_dieoffset(d, &off, &err), err, "DIE offset");
    return off;
  }

  Dwarf_Half tag(Dwarf_Die d) {
    Dwarf_Half t = 0;
    Dwarf_Error err = nullptr;
    check(dwarf_tag(d, &t, &err), err, "DIE tag at {:#x}", die_offset(d));
    return t;
  }

  // First child, or nullptr.
  Dwarf_Die child(Dwarf_Die d) {
    Dwarf_Die c = nullptr;
    Dwarf_Error err = nullptr;
    int rc = dwarf_child(d, &c, &err);
    if (rc == DW_DLV_NO_ENTRY) return nullptr;
    check(rc, err, "children of DIE {:#x}", die_offset(d));
    return c;
  }

  // Next sibling, or nullptr.
  Dwarf_Die sibling(Dwarf_Die d) {
    Dwarf_Die s = nullptr;
    Dwarf_Error err = nullptr;
    int rc = dwarf_siblingof_b(dbg_, d, true, &s, &err);
    if (rc == DW_DLV_NO_ENTRY) return nullptr;
    check(rc, err, "sibling of DIE {:#x}", die_offset(d));
    return s;
  }

  // Frees a DIE at the end of its scope, also when malformed input throws:
  // with dwarf_set_de_alloc_flag(0), libdwarf never frees it itself.
  struct DieGuard {
    Dwarf_Die die;
    ~DieGuard() { dwarf_dealloc_die(die); }
  };

  // Calls fn(die) for each child of d, freeing each DIE after fn returns.
  template <typename F>
  void for_children(Dwarf_Die d, F&& fn) {
    for (Dwarf_Die c = child(d); c;) {
      DieGuard guard{c};
      m_.dies++;
      fn(c);
      c = sibling(c);
    }
  }

  DieAttrs attrs(Dwarf_Die d) {
    DieAttrs a;
    Dwarf_Attribute* list = nullptr;
    Dwarf_Signed n = 0;
    Dwarf_Error err = nullptr;
    int rc = dwarf_attrlist(d, &list, &n, &err);
    if (rc == DW_DLV_NO_ENTRY) return a;
    check(rc, err, "attributes of DIE {:#x}", die_offset(d));
    for (Dwarf_Signed i = 0; i < n; i++) {
      Dwarf_Attribute at = list[i];
      Dwarf_Half num = 0, form = 0;
      dwarf_whatattr(at, &num, &err);
      dwarf_whatform(at, &form, &err);
      bool keep = false;
      int r = DW_DLV_OK;
      switch (num) {
        case DW_AT_name: {
          char* s = nullptr;
          r = dwarf_formstring(at, &s, &err);
          a.name = s;
          break;
        }
        case DW_AT_comp_dir: {
          char* s = nullptr;
          r = dwarf_formstring(at, &s, &err);
          a.comp_dir = s;
          break;
        }
        case DW_AT_language:
          r = dwarf_formudata(at, &a.language, &err);
          break;
        case DW_AT_inline: {
          Dwarf_Unsigned v = 0;
          r = dwarf_formudata(at, &v, &err);
          a.has_inline = true;
          a.inline_val = static_cast<Dwarf_Signed>(v);
          break;
        }
        case DW_AT_abstract_origin:
          r = dwarf_global_formref(at, &a.origin, &err);
          a.has_origin = r == DW_DLV_OK;
          break;
        case DW_AT_low_pc:
          r = dwarf_formaddr(at, &a.low, &err);
          a.has_low = r == DW_DLV_OK;
          break;
        case DW_AT_high_pc: {
          Dwarf_Form_Class cls = dwarf_get_form_class(version_, num, offset_size_, form);
          if (cls == DW_FORM_CLASS_CONSTANT) {
            r = dwarf_formudata(at, &a.high, &err);
            a.high_is_offset = true;
          } else {
            r = dwarf_formaddr(at, &a.high, &err);
          }
          a.has_high = r == DW_DLV_OK;
          break;
        }
        case DW_AT_ranges:
          a.has_ranges = true;
          a.ranges_form = form;
          if (form == DW_FORM_rnglistx || form == DW_FORM_sec_offset || form == DW_FORM_data4 ||
              form == DW_FORM_data8) {
            if (form == DW_FORM_sec_offset) {
              Dwarf_Off off = 0;
              r = dwarf_global_formref(at, &off, &err);
              a.ranges_value = off;
            } else {
              r = dwarf_formudata(at, &a.ranges_value, &err);
            }
          }
          a.ranges_attr = at;
          keep = true;
          break;
        case DW_AT_trampoline: {
          Dwarf_Bool b = 0;
          r = dwarf_formflag(at, &b, &err);
          a.trampoline = b;
          break;
        }
        case DW_AT_decl_line:
          r = dwarf_formudata(at, &a.decl_line, &err);
          break;
        case DW_AT_call_file:
          r = dwarf_formudata(at, &a.call_file, &err);
          a.has_call_file = r == DW_DLV_OK;
          break;
        case DW_AT_call_line:
          r = dwarf_formudata(at, &a.call_line, &err);
          a.has_call_line = r == DW_DLV_OK;
          break;
        case DW_AT_stmt_list: {
          a.has_stmt_list = true;
          Dwarf_Off off = 0;
          if (dwarf_global_formref(at, &off, &err) == DW_DLV_OK) {
            a.stmt_list = off;
          } else {
            if (err) dwarf_dealloc_error(dbg_, err);
            err = nullptr;
            r = dwarf_formudata(at, &a.stmt_list, &err);
          }
          break;
        }
        case DW_AT_producer: {
          char* p = nullptr;
          r = dwarf_formstring(at, &p, &err);
          a.producer = p;
          break;
        }
        default:
          break;
      }
      if (r == DW_DLV_ERROR) {
        // A malformed attribute is treated as absent, as Delve's entry.Val
        // type assertion does; the error object is freed.
        if (err) dwarf_dealloc_error(dbg_, err);
        err = nullptr;
      }
      if (!keep) dwarf_dealloc_attribute(at);
    }
    dwarf_dealloc(dbg_, list, DW_DLA_LIST);
    if (a.has_low && a.has_high && a.high_is_offset) a.high += a.low;
    return a;
  }

  // Go's (*dwarf.Data).Ranges(entry): [low, high) if both present, then the
  // DW_AT_ranges list. Frees a.ranges_attr.
  std::vector<PcRange> ranges(Dwarf_Die d, DieAttrs& a) {
    std::vector<PcRange> out;
    if (a.has_low && a.has_high) out.push_back({a.low, a.high});
    if (a.has_ranges) {
      if (version_ >= 5)
        rnglist(a, out);
      else
        range_list(d, a, out);
      dwarf_dealloc_attribute(a.ranges_attr);
      a.ranges_attr = nullptr;
      a.has_ranges = false;
    }
    return out;
  }

  void range_list(Dwarf_Die d, const DieAttrs& a, std::vector<PcRange>& out) {
    Dwarf_Ranges* buf = nullptr;
    Dwarf_Signed n = 0;
    Dwarf_Unsigned bytes = 0;
    Dwarf_Off real = 0;
    Dwarf_Error err = nullptr;
    int rc = dwarf_get_ranges_b(dbg_, a.ranges_value, d, &real, &buf, &n, &bytes, &err);
    if (rc != DW_DLV_OK) {
      if (err) dwarf_dealloc_error(dbg_, err);
      return;
    }
    uint64_t base = cu_base_;
    for (Dwarf_Signed i = 0; i < n; i++) {
      const Dwarf_Ranges& r = buf[i];
      if (r.dwr_type == DW_RANGES_END) break;
      if (r.dwr_type == DW_RANGES_ADDRESS_SELECTION) {
        base = r.dwr_addr2;
        continue;
      }
      out.push_back({base + r.dwr_addr1, base + r.dwr_addr2});
    }
    dwarf_ranges_dealloc(dbg_, buf, n);
  }

  void rnglist(const DieAttrs& a, std::vector<PcRange>& out) {
    Dwarf_Rnglists_Head head = nullptr;
    Dwarf_Unsigned count = 0, global = 0;
    Dwarf_Error err = nullptr;
    int rc = dwarf_rnglists_get_rle_head(a.ranges_attr, a.ranges_form, a.ranges_value, &head, &count,
                                         &global, &err);
    // libdwarf can return OK with err set (a DW_RLE_base_addressx whose
    // .debug_addr index fails is marked unavailable, not an error): free it.
    if (err) dwarf_dealloc_error(dbg_, err);
    if (rc != DW_DLV_OK) return;
    for (Dwarf_Unsigned i = 0; i < count; i++) {
      unsigned len = 0, code = 0;
      Dwarf_Unsigned raw1 = 0, raw2 = 0, c1 = 0, c2 = 0;
      Dwarf_Bool unavailable = 0;
      if (dwarf_get_rnglists_entry_fields_a(head, i, &len, &code, &raw1, &raw2, &unavailable, &c1,
                                            &c2, &err) != DW_DLV_OK) {
        if (err) dwarf_dealloc_error(dbg_, err);
        break;
      }
      if (code == DW_RLE_end_of_list) break;
      if (code == DW_RLE_base_addressx || code == DW_RLE_base_address) continue;
      if (!unavailable) out.push_back({c1, c2});
    }
    dwarf_dealloc_rnglists_head(head);
  }

  void read_unit(Dwarf_Die cu_die, Dwarf_Half version) {
    version_ = version;
    unit_off_ = die_offset(cu_die);
    if (tag(cu_die) != DW_TAG_compile_unit) return;  // partial/type units: Delve skips them
    m_.dies++;
    DieAttrs a = attrs(cu_die);
    CompileUnit cu;
    cu.offset = unit_off_;
    cu.version = version;
    cu.is_go = a.language == kLangGo;
    std::string comp_dir = a.comp_dir ? a.comp_dir : "";
    cu.name = a.name ? a.name : "";
    in_runtime_ = cu.name == "runtime";
    cu_base_ = a.has_low ? a.low : 0;
    // Compiled with -l (Delve reads the same flag from DW_AT_producer to call a
    // unit "not inlined"): the compiler ran no inliner, so the unit has no
    // DW_TAG_inlined_subroutine and function subtrees need not be walked.
    cu_inlines_ = true;
    if (std::string_view prod = a.producer ? a.producer : ""; cu.is_go) {
      auto semi = prod.find(';');
      if (semi != std::string_view::npos && prod.substr(semi).find("-l") != std::string_view::npos) cu_inlines_ = false;
    }
    if (a.ranges_attr) dwarf_dealloc_attribute(a.ranges_attr);
    cu.line_offset = a.stmt_list;
    if (a.has_stmt_list) read_lines(cu_die, comp_dir, cu);  // after is_go is known
    cu_index_ = static_cast<uint32_t>(m_.cus.size());
    m_.cus.push_back(std::move(cu));
    walk_unit_children(cu_die);
  }

  // --- line table ---

  void read_lines(Dwarf_Die cu_die, const std::string& comp_dir, CompileUnit& cu) {
    Dwarf_Unsigned lversion = 0;
    Dwarf_Small table_count = 0;
    Dwarf_Line_Context ctx = nullptr;
    Dwarf_Error err = nullptr;
    int rc = dwarf_srclines_b(cu_die, &lversion, &table_count, &ctx, &err);
    if (rc == DW_DLV_NO_ENTRY) return;
    check(rc, err, "line table header");
    struct CtxGuard {
      Dwarf_Line_Context c;
      ~CtxGuard() { dwarf_srclines_dealloc_b(c); }
    } guard{ctx};
    cu.has_line_info = true;
    LineTable& lt = cu.lines;
    lt.version = static_cast<uint16_t>(lversion);

    // Include directories as Delve indexes them.
    std::vector<std::string> dirs;
    if (lversion < 5) dirs.push_back(comp_dir);
    Dwarf_Signed ndirs = 0;
    check(dwarf_srclines_include_dir_count(ctx, &ndirs, &err), err, "line table directories");
    // libdwarf numbers include directories from 1 before DWARF 5, from 0 after.
    const Dwarf_Signed first_dir = lversion < 5 ? 1 : 0;
    for (Dwarf_Signed i = first_dir; i < first_dir + ndirs; i++) {
      const char* name = nullptr;
      check(dwarf_srclines_include_dir_data(ctx, i, &name, &err), err, "line table directory {}", i);
      dirs.emplace_back(name ? name : "");
    }
    Dwarf_Signed base = 0, count = 0, end = 0;
    check(dwarf_srclines_files_indexes(ctx, &base, &count, &end, &err), err, "line table files");
    for (Dwarf_Signed i = base; i < end; i++) {
      const char* name = nullptr;
      Dwarf_Unsigned dir = 0, mtime = 0, len = 0;
      Dwarf_Form_Data16* md5 = nullptr;
      check(dwarf_srclines_files_data_b(ctx, i, &name, &dir, &mtime, &len, &md5, &err), err,
            "line table file {}", i);
      std::string p = name ? name : "";
      if (lversion < 5) {
        if (!delve_path_is_abs(p) && dir < dirs.size()) p = go_path_join(dirs[dir], p);
      } else if (dir < dirs.size()) {
        p = go_path_join(dirs[dir], p);
      }
      lt.files.push_back(std::move(p));
    }

    Dwarf_Line* lines = nullptr;
    Dwarf_Signed nlines = 0;
    check(dwarf_srclines_from_linecontext(ctx, &lines, &nlines, &err), err, "line table rows");
    lt.rows.reserve(static_cast<size_t>(nlines));
    const bool one_based = lversion < 5;
    for (Dwarf_Signed i = 0; i < nlines; i++) {
      Dwarf_Line l = lines[i];
      Dwarf_Addr pc = 0;
      Dwarf_Unsigned lineno = 0, fileno = 0, isa = 0, disc = 0;
      Dwarf_Bool stmt = 0, endseq = 0, pend = 0, ebegin = 0;
      check(dwarf_lineaddr(l, &pc, &err), err, "row {} address", i);
      check(dwarf_lineno(l, &lineno, &err), err, "row {} line", i);
      check(dwarf_line_srcfileno(l, &fileno, &err), err, "row {} file", i);
      check(dwarf_linebeginstatement(l, &stmt, &err), err, "row {} is_stmt", i);
      check(dwarf_lineendsequence(l, &endseq, &err), err, "row {} end_sequence", i);
      check(dwarf_prologue_end_etc(l, &pend, &ebegin, &isa, &disc, &err), err, "row {} flags", i);
      LineRow row;
      row.pc = pc;
      row.line = static_cast<uint32_t>(lineno);
      // libdwarf 20210528 starts the DWARF 5 file register at 0, not 1: rows
      // before the first DW_LNS_set_file report file 0. Go never refers to
      // its dummy file 0 ("?"), so in a Go unit 0 means "the default, 1".
      if (!one_based && fileno == 0 && cu.is_go) fileno = 1;
      uint64_t fi = one_based ? fileno - 1 : fileno;  // fileno 0 in v4 wraps: out of range
      row.file = fi < lt.files.size() ? static_cast<uint32_t>(fi) : kNoFile;
      row.flags = (stmt ? kStmt : 0) | (endseq ? kEndSequence : 0) | (pend ? kPrologueEnd : 0);
      lt.rows.push_back(row);
    }
  }

  // --- functions ---

  FnEvent& event(FnEvent::Kind k, uint64_t off) {
    FnEvent& e = m_.events.emplace_back();
    e.kind = k;
    e.cu = cu_index_;
    e.off = off;
    return e;
  }

  static bool is_type_tag(Dwarf_Half t) {
    switch (t) {
      case DW_TAG_array_type: case DW_TAG_base_type: case DW_TAG_class_type:
      case DW_TAG_structure_type: case DW_TAG_union_type: case DW_TAG_const_type:
      case DW_TAG_volatile_type: case DW_TAG_restrict_type: case DW_TAG_enumeration_type:
      case DW_TAG_pointer_type: case DW_TAG_subroutine_type: case DW_TAG_typedef:
      case DW_TAG_unspecified_type:
        return true;
      default:
        return false;
    }
  }

  // Delve's loadDebugInfoMapsCompileUnit: subprograms anywhere except below
  // types, variables, constants and imported units.
  void walk_unit_children(Dwarf_Die parent) {
    for_children(parent, [&](Dwarf_Die d) {
      Dwarf_Half t = tag(d);
      if (t == DW_TAG_subprogram) {
        subprogram(d);
      } else if (t == DW_TAG_variable && in_runtime_ && !m_.moduledata_addr) {
        global_variable(d);
      } else if (is_type_tag(t) || t == DW_TAG_variable || t == DW_TAG_constant ||
                 t == DW_TAG_imported_unit) {
        // skipped with their children
      } else {
        walk_unit_children(d);
      }
    });
  }

  // runtime.firstmoduledata's address (DW_AT_location: DW_OP_addr A), the
  // anchor from which the shim learns a position-independent binary's load
  // bias: dlv evaluates its runtime address, A is its link address.
  void global_variable(Dwarf_Die d) {
    DieAttrs a = attrs(d);
    if (a.ranges_attr) dwarf_dealloc_attribute(a.ranges_attr);
    if (!a.name || std::string_view(a.name) != "runtime.firstmoduledata") return;
    Dwarf_Attribute at = nullptr;
    Dwarf_Error err = nullptr;
    if (dwarf_attr(d, DW_AT_location, &at, &err) != DW_DLV_OK) {
      if (err) dwarf_dealloc_error(dbg_, err);
      return;
    }
    // Go writes DW_FORM_block1; DW_FORM_exprloc is the form of DWARF 4 and later.
    auto take = [&](const void* p, Dwarf_Unsigned len) {
      const auto* b = static_cast<const uint8_t*>(p);
      if (len != 9 || b[0] != DW_OP_addr) return;
      uint64_t addr = 0;
      for (int i = 8; i >= 1; i--) addr = addr << 8 | b[i];  // little-endian (amd64, arm64)
      m_.moduledata_addr = addr;
    };
    Dwarf_Half form = 0;
    if (dwarf_whatform(at, &form, &err) == DW_DLV_OK && form == DW_FORM_exprloc) {
      Dwarf_Unsigned len = 0;
      Dwarf_Ptr expr = nullptr;
      if (dwarf_formexprloc(at, &len, &expr, &err) == DW_DLV_OK) take(expr, len);
    } else if (!err) {
      Dwarf_Block* blk = nullptr;
      if (dwarf_formblock(at, &blk, &err) == DW_DLV_OK) {
        take(blk->bl_data, blk->bl_len);
        dwarf_dealloc(dbg_, blk, DW_DLA_BLOCK);
      }
    }
    if (err) dwarf_dealloc_error(dbg_, err);
    dwarf_dealloc_attribute(at);
  }

  void subprogram(Dwarf_Die d) {
    uint64_t off = die_offset(d);
    DieAttrs a = attrs(d);
    if (a.has_inline && a.inline_val >= 1) {  // abstract
      if (a.ranges_attr) dwarf_dealloc_attribute(a.ranges_attr);
      if (cu_inlines_) walk_function(d, 1, /*chain=*/true, nullptr);
      FnEvent& e = event(FnEvent::kAbstract, off);
      e.name = function_name(a);
      e.decl_line = static_cast<uint32_t>(a.decl_line);
      return;
    }
    std::vector<PcRange> rs = ranges(d, a);
    if (a.has_origin) {  // concrete instance of an inlinable function
      if (rs.empty()) return;  // Delve: warning, children skipped, function untouched
      FnEvent& e = event(FnEvent::kConcreteInlined, off);
      e.origin = a.origin;
      e.entry = rs[0].lo;
      e.end = rs[0].hi;
    } else {
      FnEvent& e = event(FnEvent::kConcrete, off);
      e.name = function_name(a);
      e.entry = rs.empty() ? 0 : rs[0].lo;
      e.end = rs.empty() ? 0 : rs[0].hi;
      e.trampoline = a.trampoline;
      e.decl_line = static_cast<uint32_t>(a.decl_line);
    }
    if (!cu_inlines_) return;
    std::vector<InlinedRange> inl;
    walk_function(d, 1, /*chain=*/true, &inl);
    if (!inl.empty()) {
      std::stable_sort(inl.begin(), inl.end(),
                       [](const InlinedRange& x, const InlinedRange& y) { return x.depth > y.depth; });
      m_.inline_ranges[off] = std::move(inl);
    }
  }

  // One walk over a subprogram's subtree for two things Delve computes
  // separately:
  //  - allInlineCallRanges (when `out`): every inlined subroutine at any
  //    depth, lexical blocks included, each range tagged with its depth;
  //  - inlinedCallLines: call sites along `chain`s of inlined subroutines
  //    directly below the subprogram (loadDebugInfoMapsInlinedCalls skips
  //    any other child, and the children of a malformed inlined call).
  void walk_function(Dwarf_Die parent, uint32_t depth, bool chain, std::vector<InlinedRange>* out) {
    for_children(parent, [&](Dwarf_Die d) {
      if (tag(d) != DW_TAG_inlined_subroutine) {
        if (out) walk_function(d, depth + 1, false, out);
        return;
      }
      DieAttrs a = attrs(d);
      std::vector<PcRange> rs = ranges(d, a);
      if (out) {
        uint64_t doff = die_offset(d);
        for (const PcRange& r : rs) out->push_back({doff, depth, r});
      }
      bool recorded = chain && record_inlined_call(a, rs);
      if (out || recorded) walk_function(d, depth + 1, recorded, out);
    });
  }

  // Delve's inlinedCallLines[{call file, call line}] += lowpc, if well formed.
  bool record_inlined_call(const DieAttrs& a, const std::vector<PcRange>& rs) {
    if (!a.has_origin || rs.empty() || !a.has_call_file || !a.has_call_line) return false;
    const CompileUnit& cu = m_.cus[cu_index_];
    if (!cu.has_line_info) return false;
    int64_t idx = static_cast<int64_t>(a.call_file);
    if (cu.version < 5) idx--;
    if (idx < 0 || idx >= static_cast<int64_t>(cu.lines.files.size())) return false;
    event(FnEvent::kInlinedCall, 0).origin = a.origin;
    m_.inlined_calls.push_back(
        {cu_index_, static_cast<uint32_t>(idx), static_cast<uint32_t>(a.call_line), rs[0].lo});
    return true;
  }

  std::string function_name(const DieAttrs& a) const {
    if (!a.name) return {};
    return m_.cus[cu_index_].is_go ? std::string(a.name) : "C." + std::string(a.name);
  }

  const std::string& path_;
  ReadPart& m_;
  bool in_runtime_ = false;  // the unit is package runtime's
  Obj obj_;
  Dwarf_Obj_Access_Interface iface_{};
  Dwarf_Debug dbg_ = nullptr;
  size_t first_unit_, end_unit_, unit_ordinal_ = 0;
  uint64_t unit_off_ = 0, next_unit_ = 0, cu_base_ = 0;
  Dwarf_Half version_ = 0, offset_size_ = 4;
  uint32_t cu_index_ = kNoCu;
  bool cu_inlines_ = true;
};


// libdwarf 20210528 reads every .debug_rnglists header when it opens the
// first unit, and on a malformed one frees its list and then goes on using it
// (a double free: internal_load_rnglists_contexts lacks a `return`). So the
// headers are checked here first, refusing exactly what libdwarf's header
// reader refuses: a length past the section, a version other than 5, an
// address size other than 2, 4 or 8, a header cut short by the section end.
void check_rnglists_headers(const std::string& path, Bytes s) {
  auto fail_at = [&](uint64_t off, const char* why) {
    fail("{}: malformed DWARF: .debug_rnglists header at {:#x}: {}", path, off, why);
  };
  for (uint64_t off = 0; off < s.size();) {
    uint64_t left = s.size() - off, len = 0, hdr = 4;
    if (left < 4) fail_at(off, "truncated length");
    uint32_t len32;
    std::memcpy(&len32, s.data() + off, 4);
    len = len32;
    if (len32 == 0xffffffff) {
      if (left < 12) fail_at(off, "truncated length");
      std::memcpy(&len, s.data() + off + 4, 8);
      hdr = 12;
    }
    if (len > s.size()) fail_at(off, "length past the section");
    if (left < hdr + 8) fail_at(off, "truncated header");
    uint16_t version;
    std::memcpy(&version, s.data() + off + hdr, 2);
    uint8_t address_size = s[off + hdr + 2];
    if (version != 5) fail_at(off, "version is not 5");
    if (address_size != 2 && address_size != 4 && address_size != 8) fail_at(off, "bad address size");
    off += hdr + len;
  }
}

// Unit boundaries from the .debug_info unit headers (4- or 12-byte lengths).
std::vector<uint64_t> unit_sizes(Bytes info) {
  std::vector<uint64_t> sizes;
  uint64_t off = 0;
  while (info.size() - off >= 4) {
    uint32_t len32;
    std::memcpy(&len32, info.data() + off, 4);
    uint64_t len = len32, hdr = 4;
    if (len32 == 0xffffffff) {
      if (info.size() - off < 12) break;
      std::memcpy(&len, info.data() + off + 4, 8);
      hdr = 12;
    }
    if (len > info.size() - off - hdr) {
      sizes.push_back(info.size() - off);  // let libdwarf report the bad length
      break;
    }
    sizes.push_back(hdr + len);
    off += hdr + len;
  }
  return sizes;
}

// Delve's loader, replayed: one Function per abstract origin or concrete DIE
// (ctxt.lookupAbstractOrigin), fields overwritten in DIE order.
void replay(const ReadPart& p, uint32_t cu_base, std::unordered_map<uint64_t, uint32_t>& index, DwarfModel& m) {
  auto fn_for = [&](uint64_t off) -> Function& {
    auto [it, inserted] = index.try_emplace(off, static_cast<uint32_t>(m.functions.size()));
    if (inserted) m.functions.emplace_back();
    return m.functions[it->second];
  };
  for (const FnEvent& e : p.events) {
    uint32_t cu = cu_base + e.cu;
    switch (e.kind) {
      case FnEvent::kAbstract: {
        Function& fn = fn_for(e.off);
        fn.name = e.name;
        fn.offset = e.off;
        fn.cu = cu;
        fn.decl_line = e.decl_line;
        break;
      }
      case FnEvent::kConcreteInlined: {
        Function& fn = fn_for(e.origin);
        fn.offset = e.off;
        fn.entry = e.entry;
        fn.end = e.end;
        fn.cu = cu;
        break;
      }
      case FnEvent::kConcrete: {
        Function& fn = fn_for(e.off);
        fn.name = e.name;
        fn.entry = e.entry;
        fn.end = e.end;
        fn.offset = e.off;
        fn.cu = cu;
        fn.trampoline = e.trampoline;
        fn.decl_line = e.decl_line;
        break;
      }
      case FnEvent::kInlinedCall: {
        Function& fn = fn_for(e.origin);
        if (fn.cu == kNoCu) fn.cu = cu;
        break;
      }
    }
  }
}

}  // namespace

DwarfModel read_dwarf(const std::string& path, const DwarfSections& sections) {
  // Split the units into contiguous ranges of about equal size, one reader
  // (one Dwarf_Debug) per range and thread.
  std::vector<uint64_t> sizes = unit_sizes(sections.get(".debug_info"));
  uint64_t total = 0;
  for (uint64_t z : sizes) total += z;
  // More ranges than threads, handed out as threads finish: unit costs vary
  // (runtime's unit is by far the largest), so this balances the work.
  const size_t nt = std::max<size_t>(1, std::min<size_t>(4 * worker_threads(), sizes.size()));
  std::vector<size_t> bounds{0};
  uint64_t acc = 0;
  for (size_t u = 0; u < sizes.size(); u++) {
    acc += sizes[u];
    if (acc * nt >= total * bounds.size() && bounds.size() < nt && u + 1 < sizes.size()) bounds.push_back(u + 1);
  }
  bounds.push_back(SIZE_MAX);  // the last reader also reports whatever follows
  std::vector<ReadPart> parts(bounds.size() - 1);
  check_rnglists_headers(path, sections.get(".debug_rnglists"));
  dwarf_set_de_alloc_flag(0);  // process-wide: set before any reader starts
  run_tasks(parts.size(), [&](size_t k) { Reader(path, sections, parts[k], bounds[k], bounds[k + 1]).run(); });

  DwarfModel m;
  std::unordered_map<uint64_t, uint32_t> index;
  for (ReadPart& p : parts) {
    uint32_t base = static_cast<uint32_t>(m.cus.size());
    replay(p, base, index, m);
    for (auto& ic : p.inlined_calls) {
      ic.cu += base;
      m.inlined_calls.push_back(ic);
    }
    for (auto& [off, r] : p.inline_ranges) m.inline_ranges[off] = std::move(r);
    for (auto& cu : p.cus) m.cus.push_back(std::move(cu));
    m.dies += p.dies;
    if (!m.moduledata_addr) m.moduledata_addr = p.moduledata_addr;
  }
  return m;
}

}  // namespace dlvidx::index
