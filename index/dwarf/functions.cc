// The function walk of one unit, as Delve's loader does it
// (pkg/proc/bininfo.go at v1.27.1):
//  - Functions, filled in DIE order with Delve's "last write wins" per
//    abstract origin (recorded here as FnEvents, replayed by read_dwarf.cc);
//  - inlined calls recorded only along chains of DW_TAG_inlined_subroutine
//    directly below a subprogram (Delve skips other children), while the
//    inlined-call ranges used to split a function's PCs come from its whole
//    tree (lexical blocks included);
//  - runtime.firstmoduledata's link address, the PIE load-bias anchor.
#include <algorithm>
#include <string_view>

#include "index/dwarf/internal.h"

namespace dlvidx::index::dwarf {
namespace {

bool is_type_tag(Dwarf_Half t) {
  switch (t) {
    case DW_TAG_array_type:
    case DW_TAG_base_type:
    case DW_TAG_class_type:
    case DW_TAG_structure_type:
    case DW_TAG_union_type:
    case DW_TAG_const_type:
    case DW_TAG_volatile_type:
    case DW_TAG_restrict_type:
    case DW_TAG_enumeration_type:
    case DW_TAG_pointer_type:
    case DW_TAG_subroutine_type:
    case DW_TAG_typedef:
    case DW_TAG_unspecified_type:
      return true;
    default:
      return false;
  }
}

class FunctionWalker {
 public:
  FunctionWalker(DieReader& r, const UnitScope& unit, ReadPart& part)
      : r_(r), unit_(unit), m_(part) {}

  // Delve's loadDebugInfoMapsCompileUnit: subprograms anywhere except below
  // types, variables, constants and imported units.
  void walk_unit_children(Dwarf_Die parent) {
    r_.for_children(parent, [&](Dwarf_Die d) {
      Dwarf_Half t = r_.tag(d);
      if (t == DW_TAG_subprogram) {
        subprogram(d);
      } else if (t == DW_TAG_variable && unit_.in_runtime && !m_.moduledata_addr) {
        global_variable(d);
      } else if (is_type_tag(t) || t == DW_TAG_variable || t == DW_TAG_constant ||
                 t == DW_TAG_imported_unit) {
        // skipped with their children
      } else {
        walk_unit_children(d);
      }
    });
  }

 private:
  FnEvent& event(FnEvent::Kind k, uint64_t off) {
    FnEvent& e = m_.events.emplace_back();
    e.kind = k;
    e.cu = unit_.cu_index;
    e.off = off;
    return e;
  }

  // runtime.firstmoduledata's address (DW_AT_location: DW_OP_addr A), the
  // anchor from which the shim learns a position-independent binary's load
  // bias: dlv evaluates its runtime address, A is its link address.
  void global_variable(Dwarf_Die d) {
    DieAttrs a = read_attrs(r_, d);
    if (!a.name || std::string_view(a.name) != "runtime.firstmoduledata") return;
    Dwarf_Attribute at = nullptr;
    DwarfError err(r_.dbg());
    if (dwarf_attr(d, DW_AT_location, &at, err.out()) != DW_DLV_OK) return;
    AttributeHolder held(at);
    // Go writes DW_FORM_block1; DW_FORM_exprloc is the form of DWARF 4 and later.
    auto take = [&](const void* p, Dwarf_Unsigned len) {
      const auto* b = static_cast<const uint8_t*>(p);
      if (len != 9 || b[0] != DW_OP_addr) return;
      uint64_t addr = 0;
      for (int i = 8; i >= 1; i--) addr = addr << 8 | b[i];  // little-endian (amd64, arm64)
      m_.moduledata_addr = addr;
    };
    Dwarf_Half form = 0;
    if (dwarf_whatform(at, &form, err.out()) == DW_DLV_OK && form == DW_FORM_exprloc) {
      Dwarf_Unsigned len = 0;
      Dwarf_Ptr expr = nullptr;
      if (dwarf_formexprloc(at, &len, &expr, err.out()) == DW_DLV_OK) take(expr, len);
    } else if (!err) {
      Dwarf_Block* blk = nullptr;
      if (dwarf_formblock(at, &blk, err.out()) == DW_DLV_OK) {
        take(blk->bl_data, blk->bl_len);
        dwarf_dealloc(r_.dbg(), blk, DW_DLA_BLOCK);
      }
    }
  }

  void subprogram(Dwarf_Die d) {
    uint64_t off = r_.die_offset(d);
    DieAttrs a = read_attrs(r_, d);
    if (a.has_inline && a.inline_val >= 1) {  // abstract
      a.ranges_attr.reset();
      if (unit_.inlines) walk_function(d, 1, /*chain=*/true, nullptr);
      FnEvent& e = event(FnEvent::kAbstract, off);
      e.name = function_name(a);
      e.decl_line = static_cast<uint32_t>(a.decl_line);
      return;
    }
    std::vector<PcRange> rs = die_ranges(r_, d, a);
    if (a.has_origin) {        // concrete instance of an inlinable function
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
    if (!unit_.inlines) return;
    std::vector<InlinedRange> inl;
    walk_function(d, 1, /*chain=*/true, &inl);
    if (!inl.empty()) {
      std::stable_sort(inl.begin(), inl.end(), [](const InlinedRange& x, const InlinedRange& y) {
        return x.depth > y.depth;
      });
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
    r_.for_children(parent, [&](Dwarf_Die d) {
      if (r_.tag(d) != DW_TAG_inlined_subroutine) {
        if (out) walk_function(d, depth + 1, false, out);
        return;
      }
      DieAttrs a = read_attrs(r_, d);
      std::vector<PcRange> rs = die_ranges(r_, d, a);
      if (out) {
        uint64_t doff = r_.die_offset(d);
        for (const PcRange& pr : rs) out->push_back({doff, depth, pr});
      }
      bool recorded = chain && record_inlined_call(a, rs);
      if (out || recorded) walk_function(d, depth + 1, recorded, out);
    });
  }

  // Delve's inlinedCallLines[{call file, call line}] += lowpc, if well formed.
  bool record_inlined_call(const DieAttrs& a, const std::vector<PcRange>& rs) {
    if (!a.has_origin || rs.empty() || !a.has_call_file || !a.has_call_line) return false;
    const CompileUnit& cu = m_.cus[unit_.cu_index];
    if (!cu.has_line_info) return false;
    int64_t idx = static_cast<int64_t>(a.call_file);
    if (cu.version < 5) idx--;
    if (idx < 0 || idx >= static_cast<int64_t>(cu.lines.files.size())) return false;
    event(FnEvent::kInlinedCall, 0).origin = a.origin;
    m_.inlined_calls.push_back(
        {unit_.cu_index, static_cast<uint32_t>(idx), static_cast<uint32_t>(a.call_line), rs[0].lo});
    return true;
  }

  std::string function_name(const DieAttrs& a) const {
    if (!a.name) return {};
    return m_.cus[unit_.cu_index].is_go ? std::string(a.name) : "C." + std::string(a.name);
  }

  DieReader& r_;
  const UnitScope& unit_;
  ReadPart& m_;
};

}  // namespace

void walk_functions(DieReader& r, const UnitScope& unit, Dwarf_Die cu_die, ReadPart& part) {
  FunctionWalker(r, unit, part).walk_unit_children(cu_die);
}

}  // namespace dlvidx::index::dwarf
