// What differs between the two libdwarf interfaces dlvidx builds with, chosen
// at configure time (cmake/FindLibDwarf.cmake defines DLVIDX_LIBDWARF_0: 1 for
// libdwarf >= 0.4, 0 for 20210528). object_access.cc holds the one API
// difference (the object access table); each behavioural workaround is a
// constant here naming the version it is for, so none outlives it.
// libdwarf-free.
#pragma once

#ifndef DLVIDX_LIBDWARF_0
#error "DLVIDX_LIBDWARF_0 is set by cmake/FindLibDwarf.cmake"
#endif

namespace dlvidx::index::dwarf {

inline constexpr bool kLibdwarf0 = DLVIDX_LIBDWARF_0 != 0;

// 20210528 reads every .debug_rnglists header when it opens the first unit
// and, on a malformed one, frees its list and goes on using it (a double free:
// internal_load_rnglists_contexts lacks a `return`), so prescan.cc refuses
// those headers first. 0.x returns the error.
inline constexpr bool kRnglistsHeaderDoubleFree = !kLibdwarf0;

// 20210528 starts the DWARF 5 line program's file register at 0, not 1 (its
// _dwarf_set_line_table_regs_default_values: "DWARF5 file base is zero"), so
// rows before the first DW_LNS_set_file report file 0 (lines.cc).
inline constexpr bool kDwarf5FileRegisterStartsAt0 = !kLibdwarf0;

}  // namespace dlvidx::index::dwarf
