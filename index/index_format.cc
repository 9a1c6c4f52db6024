#include "index/index_format.h"

#include <xxhash.h>

#include <cstring>

namespace dlvidx::index {

uint32_t path_hash(std::string_view path) {
  return static_cast<uint32_t>(XXH3_64bits(path.data(), path.size()));
}

uint64_t image_checksum(const uint8_t* data, uint64_t total_size) {
  // The header too (pc_base, table offsets, counts are all used), with the
  // fields that are not part of the content zeroed: the checksum itself, and
  // shared memory's ready flag and publisher pid.
  IndexHeader h;
  std::memcpy(&h, data, sizeof h);
  h.checksum = 0;
  h.ready = 0;
  h.creator_pid = 0;
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, &h, sizeof h);
  XXH3_64bits_update(st, data + sizeof(IndexHeader), total_size - sizeof(IndexHeader));
  uint64_t sum = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return sum;
}

}  // namespace dlvidx::index
