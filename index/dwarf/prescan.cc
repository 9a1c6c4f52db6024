#include "index/dwarf/prescan.h"

#include "preload/byte_reader.h"
#include "preload/error.h"

namespace dlvidx::index::dwarf {

// libdwarf 20210528 reads every .debug_rnglists header when it opens the
// first unit, and on a malformed one frees its list and then goes on using it
// (a double free: internal_load_rnglists_contexts lacks a `return`). So the
// headers are checked here first, refusing exactly what libdwarf's header
// reader refuses.
void check_rnglists_headers(const std::string& path, Bytes s) {
  auto fail_at = [&](uint64_t off, const char* why) {
    fail("{}: malformed DWARF: .debug_rnglists header at {:#x}: {}", path, off, why);
  };
  // Every read below is checked against what is left first, so the reader's
  // own overrun error is never the one reported.
  ByteReader r(s, path, ".debug_rnglists header");
  while (r.remaining() > 0) {
    const uint64_t off = r.pos(), left = r.remaining();
    if (left < 4) fail_at(off, "truncated length");
    uint64_t len = r.u32();
    if (len == 0xffffffff) {
      if (left < 12) fail_at(off, "truncated length");
      len = r.u64();
    }
    const uint64_t hdr = r.pos() - off;
    if (len > s.size()) fail_at(off, "length past the section");
    if (left < hdr + 8) fail_at(off, "truncated header");
    uint16_t version = r.u16();
    uint8_t address_size = r.u8();
    if (version != 5) fail_at(off, "version is not 5");
    if (address_size != 2 && address_size != 4 && address_size != 8)
      fail_at(off, "bad address size");
    if (len > left - hdr) break;  // its list runs past the section end: nothing follows to check
    r.seek(off + hdr + len);
  }
}

std::vector<uint64_t> unit_sizes(const std::string& path, Bytes info) {
  std::vector<uint64_t> sizes;
  ByteReader r(info, path, ".debug_info unit header");
  while (r.remaining() >= 4) {
    const uint64_t off = r.pos();
    uint64_t len = r.u32();
    if (len == 0xffffffff) {
      if (r.remaining() < 8) break;
      len = r.u64();
    }
    if (len > r.remaining()) {
      sizes.push_back(info.size() - off);  // let libdwarf report the bad length
      break;
    }
    sizes.push_back(r.pos() - off + len);
    r.skip(len);
  }
  return sizes;
}

}  // namespace dlvidx::index::dwarf
