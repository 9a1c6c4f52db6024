// What one reader produces for a contiguous range of units, and the call
// that runs one. libdwarf-free: read_dwarf.cc, the parallel driver, sees only
// this. Function updates are recorded as events in DIE order and replayed in
// unit order by the driver, so the model is the same whatever the number of
// readers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "index/dwarf_model.h"

namespace dlvidx::index::dwarf {

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

// units.cc: reads the units with ordinals [first, end) of .debug_info into
// `part`, through a Dwarf_Debug of its own (one per thread). end SIZE_MAX:
// to the end, reporting whatever follows the last unit.
void read_units(const std::string& path, const DwarfSections& sections, size_t first, size_t end,
                ReadPart& part);

}  // namespace dlvidx::index::dwarf
