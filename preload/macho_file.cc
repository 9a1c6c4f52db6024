// Mach-O 64 (arm64, x86-64): LC_SEGMENT_64 sections, LC_UUID, and Go's build ID
// (stored as a string at the start of __text). Go writes DWARF into the
// __DWARF segment as __zdebug_* ("ZLIB" + big-endian size header) by default;
// section names are cut at 16 bytes.
#include <cstring>

#include "preload/byte_reader.h"
#include "preload/error.h"
#include "preload/object_file.h"

namespace dlvidx {
namespace {

constexpr uint32_t kLcSegment64 = 0x19;
constexpr uint32_t kLcUuid = 0x1b;
constexpr uint32_t kMhPie = 0x200000;
constexpr uint32_t kVmProtExecute = 4;

std::string fixed_name(Bytes b) {
  const char* p = reinterpret_cast<const char*>(b.data());
  return std::string(p, strnlen(p, b.size()));
}

// Go puts "\xff Go build ID: \"...\"\n \xff" at the very start of the text.
std::string go_build_id_from_text(Bytes text) {
  static constexpr std::string_view kPrefix = "\xff Go build ID: \"";
  std::string_view t(reinterpret_cast<const char*>(text.data()),
                     std::min<size_t>(text.size(), 4096));
  if (!t.starts_with(kPrefix)) return {};
  t.remove_prefix(kPrefix.size());
  auto end = t.find('"');
  return end == std::string_view::npos ? std::string() : std::string(t.substr(0, end));
}

}  // namespace

ObjectFile parse_macho(const std::string& path, Bytes b, uint64_t base) {
  ObjectFile obj;
  obj.format = ObjectFormat::kMachO;
  obj.slice_offset = base;
  obj.slice_size = b.size();
  ByteReader h(b, path, "Mach-O header");
  uint32_t magic = h.u32();
  if (magic == 0xfeedface) fail("{}: 32-bit Mach-O is not supported", path);
  if (magic != 0xfeedfacf)
    fail("{}: not a Mach-O object at offset {} (magic {:#x})", path, base, magic);
  uint32_t cpu = h.u32();
  h.u32();  // cpusubtype
  h.u32();  // filetype
  uint32_t ncmds = h.u32(), sizeofcmds = h.u32(), flags = h.u32();
  h.u32();  // reserved
  if (cpu == 0x0100000c)
    obj.arch = Arch::kArm64;
  else if (cpu == 0x01000007)
    obj.arch = Arch::kX86_64;
  else
    fail("{}: unsupported Mach-O CPU type {:#x} (dlvidx reads arm64 and x86-64)", path, cpu);
  obj.pie = flags & kMhPie;
  if (sizeofcmds > b.size() - h.pos())
    fail("{}: Mach-O load commands ({} bytes) run past the end of the file", path, sizeofcmds);

  obj.link_base = UINT64_MAX;
  uint64_t off = h.pos();
  ByteReader r(b, path, "Mach-O load command");
  for (uint32_t i = 0; i < ncmds; i++) {
    r.seek(off);
    uint32_t cmd = r.u32(), cmdsize = r.u32();
    if (cmdsize < 8 || cmdsize > b.size() - off)
      fail("{}: Mach-O load command {} has bad size {}", path, i, cmdsize);
    if (cmd == kLcUuid) {
      for (uint8_t c : r.take(16)) obj.uuid += fmt::format("{:02x}", c);
    } else if (cmd == kLcSegment64) {
      if (cmdsize < 72)
        fail("{}: Mach-O load command {} (LC_SEGMENT_64) has bad size {}", path, i, cmdsize);
      std::string segname = fixed_name(r.take(16));
      uint64_t vmaddr = r.u64();
      r.u64();  // vmsize
      uint64_t fileoff = r.u64(), filesize = r.u64();
      r.u32();  // maxprot
      uint32_t initprot = r.u32(), nsects = r.u32();
      r.u32();  // flags
      if (fileoff > b.size() || filesize > b.size() - fileoff)
        fail("{}: Mach-O segment {} (offset {}, size {}) lies outside the file ({} bytes)", path,
             segname, fileoff, filesize, b.size());
      if (segname != "__PAGEZERO") {
        obj.segments.push_back({vmaddr, base + fileoff, filesize});
        if (initprot & kVmProtExecute) obj.link_base = std::min(obj.link_base, vmaddr);
      }
      if (uint64_t(nsects) * 80 > cmdsize - 72)
        fail("{}: Mach-O segment {} claims {} sections in {} bytes", path, segname, nsects,
             cmdsize);
      for (uint32_t k = 0; k < nsects; k++) {
        std::string sectname = fixed_name(r.take(16));
        r.take(16);  // segname
        uint64_t addr = r.u64(), size = r.u64();
        uint32_t offset = r.u32();
        r.skip(4 * 7);  // align reloff nreloc flags reserved1-3
        Section sec;
        sec.addr = addr;
        // Zero-fill sections (__bss, __noptrbss) have offset 0: no file bytes.
        bool in_file = offset != 0;
        if (in_file && (offset > b.size() || size > b.size() - offset))
          fail("{}: Mach-O section {},{} (offset {}, size {}) lies outside the file ({} bytes)",
               path, segname, sectname, offset, size, b.size());
        sec.offset = base + offset;
        sec.size = in_file ? size : 0;
        sec.data = in_file ? b.subspan(offset, size) : Bytes{};
        if (auto dn = canonical_dwarf_name(sectname); dn && segname == "__DWARF") {
          sec.name = dn->canonical;
          if (dn->zlib_header) sec.compression = Compression::kZlibHeader;
        } else {
          sec.name = segname + "," + sectname;
        }
        if (sec.name == "__TEXT,__text") obj.go_build_id = go_build_id_from_text(sec.data);
        obj.sections.push_back(std::move(sec));
      }
    }
    off += cmdsize;
  }
  if (obj.link_base == UINT64_MAX) obj.link_base = 0;
  return obj;
}

}  // namespace dlvidx
