#include "index/identity.h"

#include <fmt/format.h>
#include <xxhash.h>

namespace dlvidx::index {

std::string BinaryIdentity::key_hex() const { return fmt::format("{:016x}", key); }

BinaryIdentity identify(const MappedFile& file, const ObjectFile& obj) {
  BinaryIdentity id;
  id.go_build_id = obj.go_build_id;
  id.gnu_build_id = obj.gnu_build_id;
  id.uuid = obj.uuid;
  id.size = file.size();
  id.mtime_ns = file.mtime_ns();
  id.slice_offset = obj.slice_offset;
  id.arch = obj.arch;
  id.format = obj.format;
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  for (const char* name : kIndexSections)
    if (const Section* s = obj.find(name)) {
      // The name, how the bytes are stored (a flipped SHF_COMPRESSED changes
      // what they mean), and the bytes.
      uint8_t compression = static_cast<uint8_t>(s->compression);
      XXH3_64bits_update(st, name, std::char_traits<char>::length(name));
      XXH3_64bits_update(st, &compression, 1);
      XXH3_64bits_update(st, s->data.data(), s->data.size());
    }
  id.dwarf_hash = XXH3_64bits_digest(st);
  // pie and link_base are recorded in the index too.
  std::string k =
      fmt::format("v2|{}|{}|{}|{}|{}|{}|{}|{:x}|{}|{:x}", id.go_build_id, id.gnu_build_id, id.uuid,
                  id.size, id.slice_offset, static_cast<int>(id.arch), static_cast<int>(id.format),
                  id.dwarf_hash, obj.pie ? 1 : 0, obj.link_base);
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, k.data(), k.size());
  id.key = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return id;
}

}  // namespace dlvidx::index
