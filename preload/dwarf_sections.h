// DwarfSections: plain byte views of the DWARF sections the index reads,
// decompressed at this boundary (bloaty style). Uncompressed sections are used
// in place (zero copy); compressed ones are inflated with zlib into buffers
// owned here, after checking the declared size against a cap.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "preload/mapped_file.h"
#include "preload/object_file.h"

namespace dlvidx {

// The sections the index needs, in the order libdwarf is given them.
inline constexpr const char* kIndexSections[] = {
    ".debug_info",   ".debug_abbrev",   ".debug_line", ".debug_str",        ".debug_line_str",
    ".debug_ranges", ".debug_rnglists", ".debug_addr", ".debug_str_offsets"};

struct DwarfSections {
  std::map<std::string, Bytes> views;  // canonical name -> uncompressed bytes
  uint64_t raw_bytes = 0;              // as stored in the file
  uint64_t bytes = 0;                  // uncompressed
  int compressed = 0;                  // how many were compressed

  Bytes get(const std::string& name) const {
    auto it = views.find(name);
    return it == views.end() ? Bytes{} : it->second;
  }

  std::vector<std::unique_ptr<uint8_t[]>> owned;
};

// Largest inflated section accepted (a declared size beyond it is refused as a
// zip bomb or a lie); also refused: more than kMaxInflateRatio x the input
// beyond a small allowance. Go's DWARF inflates 2-8x (cmd/compile, etcd:
// at most 7.9x); deflate itself reaches ~1032x, which 1024 let through: a
// 4 MB stream could claim, and fill, 4 GiB. With 64, memory stays within
// 64x the binary.
inline constexpr uint64_t kMaxSectionBytes = 4ull << 30;
inline constexpr uint64_t kMaxInflateRatio = 64;
inline constexpr uint64_t kInflateAllowanceBytes = 1ull << 20;

// Inflates (if needed) the DWARF sections of `obj` named in kIndexSections.
// Throws dlvidx::Error naming the file and the section when the data lies.
// A binary with no .debug_info/.debug_line gets "no DWARF: built with -s/-w?".
DwarfSections load_dwarf_sections(const std::string& path, const ObjectFile& obj);

// One section's raw bytes -> uncompressed bytes (exposed for tests/fuzzing).
Bytes decompress_section(const std::string& path, const Section& s, DwarfSections& out);

}  // namespace dlvidx
