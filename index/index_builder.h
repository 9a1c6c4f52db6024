// Lays out a FileLineTable as the flat index image (index_format.h). The
// output depends only on the table, never on thread count or hash-map order:
// files, keys and lines are sorted, the hash tables are filled in sorted order.
#pragma once

#include <cstdint>
#include <vector>

#include "index/file_line_policy.h"
#include "index/identity.h"
#include "index/index_format.h"

namespace dlvidx::index {

struct BuildCounts {
  uint64_t cus = 0, dwarf_bytes = 0, dwarf_raw_bytes = 0;
};

std::vector<uint8_t> build_index_image(const FileLineTable& t, const BinaryIdentity& id,
                                       const ObjectFile& obj, const BuildCounts& counts);

}  // namespace dlvidx::index
