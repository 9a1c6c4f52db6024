// Hand-written looks at DWARF section headers, before libdwarf sees them:
// checks that keep libdwarf 20210528 away from inputs it mishandles, and the
// unit boundaries the parallel driver splits the work by. libdwarf-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "preload/mapped_file.h"

namespace dlvidx::index::dwarf {

// Throws "<path>: malformed DWARF: .debug_rnglists header at <off>: <why>" for
// exactly the headers libdwarf's header reader refuses: a length past the
// section, a version other than 5, an address size other than 2, 4 or 8, a
// header cut short by the section end.
void check_rnglists_headers(const std::string& path, Bytes rnglists);

// The size of each unit of .debug_info from its header (4- or 12-byte
// lengths). A unit whose length runs past the section is given the rest of
// the section (libdwarf then reports the bad length); trailing bytes too few
// for a length are dropped.
std::vector<uint64_t> unit_sizes(const std::string& path, Bytes info);

}  // namespace dlvidx::index::dwarf
