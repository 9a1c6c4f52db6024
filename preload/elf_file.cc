// ELF64 little-endian (x86-64, AArch64): section headers, PT_LOAD segments and
// the identity notes. DWARF sections may be SHF_COMPRESSED (Go's default) or
// old-style .zdebug_*; the bytes are handed on raw and inflated by
// dwarf_sections.cc.
#include <array>
#include <cstring>

#include "preload/byte_reader.h"
#include "preload/error.h"
#include "preload/object_file.h"

namespace dlvidx {
namespace {

constexpr uint16_t kEmX86_64 = 62;
constexpr uint16_t kEmAarch64 = 183;
constexpr uint16_t kEtDyn = 3;
constexpr uint32_t kPtLoad = 1;
constexpr uint32_t kPfX = 1;
constexpr uint32_t kShtNobits = 8;
constexpr uint32_t kShtNote = 7;
constexpr uint64_t kShfCompressed = 0x800;

std::string hex(Bytes b) {
  std::string s;
  for (uint8_t c : b) s += fmt::format("{:02x}", c);
  return s;
}

// Walks the notes of one SHT_NOTE section; fills the Go and GNU build IDs.
void read_notes(const std::string& path, Bytes data, ObjectFile& obj) {
  ByteReader r(data, path, "note section");
  while (data.size() - r.pos() >= 12) {
    uint32_t namesz = r.u32(), descsz = r.u32(), type = r.u32();
    Bytes name = r.take((uint64_t(namesz) + 3) & ~3ull).first(namesz);
    Bytes desc = r.take((uint64_t(descsz) + 3) & ~3ull).first(descsz);
    std::string_view n(reinterpret_cast<const char*>(name.data()), name.size());
    if (n == std::string_view("Go\0", 3) && type == 4)
      obj.go_build_id.assign(reinterpret_cast<const char*>(desc.data()), desc.size());
    else if (n == std::string_view("GNU\0", 4) && type == 3)
      obj.gnu_build_id = hex(desc);
  }
}

}  // namespace

ObjectFile parse_elf(const std::string& path, Bytes b, uint64_t base) {
  ObjectFile obj;
  obj.format = ObjectFormat::kElf;
  obj.slice_offset = base;
  obj.slice_size = b.size();
  ByteReader h(b, path, "ELF header");
  h.skip(4);
  uint8_t cls = h.u8(), data = h.u8();
  if (cls != 2)
    fail("{}: 32-bit ELF is not supported (Go binaries for amd64/arm64 are ELF64)", path);
  if (data != 1) fail("{}: big-endian ELF is not supported", path);
  h.seek(16);
  uint16_t type = h.u16(), machine = h.u16();
  if (machine == kEmX86_64)
    obj.arch = Arch::kX86_64;
  else if (machine == kEmAarch64)
    obj.arch = Arch::kArm64;
  else
    fail("{}: unsupported ELF machine {} (dlvidx reads x86-64 and AArch64)", path, machine);
  obj.pie = type == kEtDyn;
  h.seek(32);
  uint64_t phoff = h.u64(), shoff = h.u64();
  h.skip(4 + 2);
  uint16_t phentsize = h.u16(), phnum = h.u16(), shentsize = h.u16(), shnum = h.u16(),
           shstrndx = h.u16();

  if (phnum && phentsize < 56) fail("{}: bad ELF program header size {}", path, phentsize);
  ByteReader ph(b, path, "ELF program headers");
  obj.link_base = UINT64_MAX;
  for (uint32_t i = 0; i < phnum; i++) {
    ph.seek(phoff + uint64_t(i) * phentsize);
    uint32_t ptype = ph.u32(), flags = ph.u32();
    uint64_t off = ph.u64(), vaddr = ph.u64();
    ph.u64();  // p_paddr
    uint64_t filesz = ph.u64();
    ph.u64();  // p_memsz
    if (ptype != kPtLoad) continue;
    if (off > b.size() || filesz > b.size() - off)
      fail("{}: ELF segment {} (offset {}, size {}) lies outside the file ({} bytes)", path, i, off,
           filesz, b.size());
    obj.segments.push_back({vaddr, base + off, filesz});
    if (flags & kPfX) obj.link_base = std::min(obj.link_base, vaddr);
  }
  if (obj.link_base == UINT64_MAX) obj.link_base = 0;

  if (shnum == 0) fail("{}: ELF file has no section headers", path);
  if (shentsize < 64) fail("{}: bad ELF section header size {}", path, shentsize);
  if (shoff > b.size() || uint64_t(shnum) * shentsize > b.size() - shoff)
    fail("{}: ELF section header table (offset {}, {} entries) lies outside the file ({} bytes)",
         path, shoff, shnum, b.size());
  if (shstrndx >= shnum) fail("{}: ELF section name table index {} out of range", path, shstrndx);
  struct Raw {
    uint32_t name, type;
    uint64_t flags, addr, offset, size;
  };
  std::vector<Raw> raw(shnum);
  ByteReader sh(b, path, "ELF section headers");
  for (uint32_t i = 0; i < shnum; i++) {
    sh.seek(shoff + uint64_t(i) * shentsize);
    Raw& s = raw[i];
    s.name = sh.u32();
    s.type = sh.u32();
    s.flags = sh.u64();
    s.addr = sh.u64();
    s.offset = sh.u64();
    s.size = sh.u64();
    if (s.type != kShtNobits && (s.offset > b.size() || s.size > b.size() - s.offset))
      fail("{}: ELF section {} (offset {}, size {}) lies outside the file ({} bytes)", path, i,
           s.offset, s.size, b.size());
  }
  const Raw& strtab = raw[shstrndx];
  // A SHT_NOBITS section's offset and size were not checked against the file.
  if (strtab.type == kShtNobits)
    fail("{}: ELF section name table index {} names a section with no bytes in the file", path,
         shstrndx);
  Bytes names = b.subspan(strtab.offset, strtab.size);
  for (uint32_t i = 1; i < shnum; i++) {
    const Raw& s = raw[i];
    if (s.name >= names.size())
      fail("{}: ELF section {} name offset {} out of range", path, i, s.name);
    const char* np = reinterpret_cast<const char*>(names.data()) + s.name;
    std::string_view raw_name(np, strnlen(np, names.size() - s.name));
    Section sec;
    sec.addr = s.addr;
    sec.offset = base + s.offset;
    sec.size = s.type == kShtNobits ? 0 : s.size;
    sec.data = s.type == kShtNobits ? Bytes{} : b.subspan(s.offset, sec.size);
    if (auto dn = canonical_dwarf_name(raw_name)) {
      sec.name = dn->canonical;
      if (s.flags & kShfCompressed)
        sec.compression = Compression::kElfChdr;
      else if (dn->zlib_header)
        sec.compression = Compression::kZlibHeader;
    } else {
      sec.name = raw_name;
    }
    if (s.type == kShtNote) read_notes(path, sec.data, obj);
    obj.sections.push_back(std::move(sec));
  }
  return obj;
}

}  // namespace dlvidx
