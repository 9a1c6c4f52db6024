// Prefaulting: bring the pages of a binary's DWARF sections into memory before
// the debugger needs them. MADV_WILLNEED starts readahead; MADV_POPULATE_READ
// (Linux >= 5.14, platform::populate_read) faults the pages in synchronously;
// where it is missing (older Linux, macOS) every
// page is touched. mincore() tells how many pages were resident before/after.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "preload/mapped_file.h"
#include "preload/object_file.h"

namespace dlvidx {

struct PrefaultRange {
  std::string name;
  uint64_t offset = 0;  // in the file
  uint64_t size = 0;
  uint64_t pages = 0;
  uint64_t resident_before = 0;
  uint64_t resident_after = 0;
};

struct PrefaultReport {
  std::vector<PrefaultRange> ranges;
  std::string method;  // "populate_read" or "touch"
  double ms = 0;
  uint64_t pages() const;
  uint64_t resident_before() const;
  uint64_t resident_after() const;
};

// Pages of [offset, offset+size) of `file` resident in the page cache.
uint64_t resident_pages(const MappedFile& file, uint64_t offset, uint64_t size);

// Prefaults the DWARF sections the index reads (and .text, which the
// prologue check disassembles when `with_text`).
PrefaultReport prefault_dwarf(const MappedFile& file, const ObjectFile& obj, bool with_text = true);

}  // namespace dlvidx
