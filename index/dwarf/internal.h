// The private header of index/dwarf/: libdwarf's includes, and each file's
// API under a banner naming that file (as mold's src/mold.h). Only
// index/dwarf/*.cc include it; the rest of dlvidx sees index/dwarf_model.h
// and knows nothing of libdwarf.
//
// How libdwarf is used here: always with a Dwarf_Error* (without one libdwarf
// calls abort() on bad input), held by a DwarfError that frees it; and with
// dwarf_set_de_alloc_flag(0) (object_access.cc), so everything libdwarf
// allocates -- DIEs, attributes, lists, line contexts -- is freed here
// explicitly, by a guard in scope (also when malformed input throws).
#pragma once

#include <fmt/format.h>
// From the directory cmake/FindLibDwarf.cmake found them in: include/libdwarf/ or
// include/libdwarf-0/ (Homebrew, upstream's install).
#include <dwarf.h>
#include <libdwarf.h>

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "index/dwarf/part.h"
#include "index/dwarf_model.h"
#include "preload/error.h"

namespace dlvidx::index::dwarf {

// Owns the Dwarf_Error a libdwarf call sets and frees it on scope exit, or
// when it is handed to the next call: libdwarf allocates one per failure, and
// some calls return DW_DLV_OK with one set (ranges.cc).
class DwarfError {
 public:
  explicit DwarfError(Dwarf_Debug dbg = nullptr) : dbg_(dbg) {}
  DwarfError(const DwarfError&) = delete;
  DwarfError& operator=(const DwarfError&) = delete;
  ~DwarfError() { clear(); }

  // The Dwarf_Error* argument of a libdwarf call (the error held is freed first).
  Dwarf_Error* out() {
    clear();
    return &err_;
  }
  explicit operator bool() const { return err_ != nullptr; }
  std::string message() const { return dwarf_errmsg(err_); }
  void clear() {
    if (err_) dwarf_dealloc_error(dbg_, err_);
    err_ = nullptr;
  }

 private:
  Dwarf_Debug dbg_;
  Dwarf_Error err_ = nullptr;
};

// Frees a DIE at the end of its scope, also when malformed input throws:
// with dwarf_set_de_alloc_flag(0), libdwarf never frees it itself.
struct DieGuard {
  Dwarf_Die die;
  ~DieGuard() { dwarf_dealloc_die(die); }
};

struct AttributeFree {
  void operator()(Dwarf_Attribute a) const { dwarf_dealloc_attribute(a); }
};
using AttributeHolder = std::unique_ptr<std::remove_pointer_t<Dwarf_Attribute>, AttributeFree>;

//
// object_access.cc
//

// A Dwarf_Debug over the section views (dwarf_object_init_b and a custom
// object access table: no libelf, no dwarf_init_path). Throws
// "<path>: cannot read DWARF: <why>".
class DwarfDebug {
 public:
  DwarfDebug(const std::string& path, const DwarfSections& sections);
  DwarfDebug(const DwarfDebug&) = delete;
  DwarfDebug& operator=(const DwarfDebug&) = delete;
  ~DwarfDebug();
  Dwarf_Debug get() const { return dbg_; }

 private:
  struct Access;  // the table libdwarf reads the sections through; it keeps a pointer to it
  std::unique_ptr<Access> access_;
  Dwarf_Debug dbg_ = nullptr;
};

// dwarf_ranges_dealloc (20210528), dwarf_dealloc_ranges (0.x).
void dealloc_ranges(Dwarf_Debug dbg, Dwarf_Ranges* ranges, Dwarf_Signed count);

//
// die.cc
//

// DIE navigation in one Dwarf_Debug, with the unit being read: every libdwarf
// failure becomes a dlvidx::Error naming the file, the unit and what was
// being read.
class DieReader {
 public:
  // `dies` counts the DIEs visited by for_children.
  DieReader(Dwarf_Debug dbg, const std::string& path, uint64_t& dies)
      : dbg_(dbg), path_(path), dies_(dies) {}

  Dwarf_Debug dbg() const { return dbg_; }

  // The unit being read: its offset (named in errors), its version (which
  // decides attribute forms and range lists) and its base address (of DWARF 4
  // range lists).
  uint64_t unit_offset() const { return unit_off_; }
  void set_unit_offset(uint64_t off) { unit_off_ = off; }
  Dwarf_Half version() const { return version_; }
  void set_version(Dwarf_Half v) { version_ = v; }
  uint64_t unit_base() const { return unit_base_; }
  void set_unit_base(uint64_t base) { unit_base_ = base; }

  // Throws unless rc is DW_DLV_OK: "<path>: malformed DWARF in unit at <off>:
  // <what>: <libdwarf's reason, or "no entry">".
  template <typename... A>
  void check(int rc, const DwarfError& err, fmt::format_string<A...> what, A&&... a) const {
    if (rc == DW_DLV_OK) return;
    fail_unit(fmt::format(what, std::forward<A>(a)...),
              rc == DW_DLV_ERROR && err ? err.message() : "no entry");
  }

  uint64_t die_offset(Dwarf_Die d) const;
  Dwarf_Half tag(Dwarf_Die d) const;
  Dwarf_Die child(Dwarf_Die d) const;    // first child, or nullptr
  Dwarf_Die sibling(Dwarf_Die d) const;  // next sibling, or nullptr

  // Calls fn(die) for each child of d, freeing each DIE after fn returns.
  template <typename F>
  void for_children(Dwarf_Die d, F&& fn) {
    for (Dwarf_Die c = child(d); c;) {
      DieGuard guard{c};
      dies_++;
      fn(c);
      c = sibling(c);
    }
  }

 private:
  [[noreturn]] void fail_unit(const std::string& what, const std::string& why) const;

  Dwarf_Debug dbg_;
  const std::string& path_;
  uint64_t& dies_;
  uint64_t unit_off_ = 0, unit_base_ = 0;
  Dwarf_Half version_ = 0;
};

//
// attributes.cc
//

// The attributes of one DIE that the index uses, decoded.
struct DieAttrs {
  const char* name = nullptr;
  const char* comp_dir = nullptr;
  Dwarf_Unsigned language = 0;
  bool has_inline = false;
  Dwarf_Signed inline_val = 0;
  bool has_origin = false;
  Dwarf_Off origin = 0;
  bool has_low = false, has_high = false, high_is_offset = false;
  Dwarf_Addr low = 0, high = 0;  // high: an address (the offset is added to low)
  bool has_ranges = false;
  Dwarf_Half ranges_form = 0;
  Dwarf_Unsigned ranges_value = 0;
  AttributeHolder ranges_attr;  // kept alive for rnglists (ranges.cc takes it)
  bool trampoline = false;
  Dwarf_Unsigned decl_line = 0;
  bool has_call_file = false, has_call_line = false;
  Dwarf_Unsigned call_file = 0, call_line = 0;
  bool has_stmt_list = false;
  Dwarf_Unsigned stmt_list = 0;
  const char* producer = nullptr;
};

DieAttrs read_attrs(const DieReader& r, Dwarf_Die d);

//
// ranges.cc
//

// Go's (*dwarf.Data).Ranges(entry): [low, high) if both present, then the
// DW_AT_ranges list. Takes (and frees) a.ranges_attr.
std::vector<PcRange> die_ranges(const DieReader& r, Dwarf_Die d, DieAttrs& a);

//
// lines.cc
//

// The unit's line table into cu.lines (cu.has_line_info when it has one);
// cu.is_go must be known.
void read_line_table(const DieReader& r, Dwarf_Die cu_die, const std::string& comp_dir,
                     CompileUnit& cu);

//
// functions.cc
//

// What the function walk needs of the unit being read.
struct UnitScope {
  uint32_t cu_index = kNoCu;  // into ReadPart::cus
  bool inlines = true;        // false: compiled with -l, no inlined calls to walk
  bool in_runtime = false;    // package runtime's unit (runtime.firstmoduledata is there)
};

// Delve's loadDebugInfoMapsCompileUnit over the children of cu_die: function
// events, inlined-call ranges and call sites, runtime.firstmoduledata.
void walk_functions(DieReader& r, const UnitScope& unit, Dwarf_Die cu_die, ReadPart& part);

}  // namespace dlvidx::index::dwarf
