// BinaryIdentity: what makes an index belong to one binary. The key that names
// the shared memory object and the cache file hashes the build IDs, the size,
// the slice and a hash of the raw DWARF bytes, so a rebuilt binary at the same
// path gets a new key, and a copy of the same binary elsewhere shares one.
// mtime is recorded but not part of the key (touching a binary changes nothing).
#pragma once

#include <cstdint>
#include <string>

#include "preload/dwarf_sections.h"
#include "preload/object_file.h"

namespace dlvidx::index {

struct BinaryIdentity {
  std::string go_build_id, gnu_build_id, uuid;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t dwarf_hash = 0;
  uint64_t slice_offset = 0;
  Arch arch = Arch::kX86_64;
  ObjectFormat format = ObjectFormat::kElf;
  uint64_t key = 0;

  std::string key_hex() const;
};

BinaryIdentity identify(const MappedFile& file, const ObjectFile& obj);

}  // namespace dlvidx::index
