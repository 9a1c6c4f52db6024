// Format dispatch and the parts of ObjectFile that do not depend on the format.
#include "preload/object_file.h"

#include <fmt/ranges.h>  // fmt::join (fmt 11 has it only there)

#include <array>
#include <cstring>

#include "preload/byte_reader.h"
#include "preload/error.h"

namespace dlvidx {

std::string_view to_string(ObjectFormat f) { return f == ObjectFormat::kElf ? "elf" : "macho"; }
std::string_view to_string(Arch a) { return a == Arch::kX86_64 ? "amd64" : "arm64"; }

std::optional<Arch> parse_arch(std::string_view s) {
  if (s == "amd64" || s == "x86_64" || s == "x86-64") return Arch::kX86_64;
  if (s == "arm64" || s == "aarch64") return Arch::kArm64;
  return std::nullopt;
}

Arch host_arch() {
#if defined(__aarch64__)
  return Arch::kArm64;
#else
  return Arch::kX86_64;
#endif
}

const Section* ObjectFile::find(std::string_view name) const {
  for (const auto& s : sections)
    if (s.name == name) return &s;
  return nullptr;
}

Bytes ObjectFile::read_vaddr(const MappedFile& file, uint64_t addr, uint64_t len) const {
  for (const auto& seg : segments) {
    if (addr < seg.vaddr || addr - seg.vaddr >= seg.filesize) continue;
    uint64_t rel = addr - seg.vaddr;
    if (len > seg.filesize - rel) return {};
    uint64_t off = seg.offset + rel;
    if (off > file.size() || len > file.size() - off) return {};
    return file.bytes().subspan(off, len);
  }
  return {};
}

bool ObjectFile::is_go() const {
  if (!go_build_id.empty()) return true;
  for (const char* n :
       {".gopclntab", ".go.buildinfo", ".data.rel.ro.gopclntab", "__TEXT,__gopclntab",
        "__DATA,__go_buildinfo", "__DATA_CONST,__go_buildinfo"})
    if (find(n)) return true;
  return false;
}

std::optional<DwarfName> canonical_dwarf_name(std::string_view raw) {
  static constexpr std::array<std::string_view, 16> kNames = {
      "info",     "abbrev",   "line",        "str",        "line_str", "ranges",
      "rnglists", "addr",     "str_offsets", "loc",        "loclists", "frame",
      "aranges",  "pubnames", "pubtypes",    "gdb_scripts"};
  struct Prefix {
    std::string_view p;
    bool zlib;
    size_t cut;  // Mach-O names are cut at 16 bytes; 0 = no cut
  };
  static constexpr std::array<Prefix, 4> kPrefixes = {{{".debug_", false, 0},
                                                       {".zdebug_", true, 0},
                                                       {"__debug_", false, 16},
                                                       {"__zdebug_", true, 16}}};
  for (const auto& pre : kPrefixes) {
    if (!raw.starts_with(pre.p)) continue;
    for (auto n : kNames) {
      std::string full = std::string(pre.p) + std::string(n);
      if (pre.cut && full.size() > pre.cut) full.resize(pre.cut);
      if (full == raw) return DwarfName{".debug_" + std::string(n), pre.zlib};
    }
  }
  return std::nullopt;
}

namespace {

constexpr uint32_t kFatMagic = 0xcafebabe;
constexpr uint32_t kFatMagic64 = 0xcafebabf;
constexpr uint32_t kCpuArm64 = 0x0100000c;
constexpr uint32_t kCpuX86_64 = 0x01000007;

std::optional<Arch> macho_cpu(uint32_t cpu) {
  if (cpu == kCpuArm64) return Arch::kArm64;
  if (cpu == kCpuX86_64) return Arch::kX86_64;
  return std::nullopt;
}

// Universal binary: fat_header and fat_arch records are big-endian.
ObjectFile open_fat(const MappedFile& file, std::optional<Arch> want) {
  const std::string& path = file.path();
  ByteReader r(file.bytes(), path, "universal header", /*big_endian=*/true);
  uint32_t magic = r.u32();
  uint32_t n = r.u32();
  bool is64 = magic == kFatMagic64;
  if (n == 0 || n > 64) fail("{}: universal binary with {} slices", path, n);
  struct Slice {
    uint64_t off, size;
    std::optional<Arch> arch;
    uint32_t cpu;
  };
  std::vector<Slice> slices;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t cpu = r.u32();
    r.u32();  // cpusubtype
    uint64_t off = is64 ? r.u64() : r.u32();
    uint64_t size = is64 ? r.u64() : r.u32();
    r.u32();            // align
    if (is64) r.u32();  // reserved
    if (off > file.size() || size > file.size() - off)
      fail("{}: universal binary slice {} at offset {} size {} lies outside the file ({} bytes)",
           path, i, off, size, file.size());
    slices.push_back({off, size, macho_cpu(cpu), cpu});
  }
  std::vector<std::string> names;
  for (const auto& s : slices)
    names.push_back(s.arch ? std::string(to_string(*s.arch)) : fmt::format("cpu{:#x}", s.cpu));
  const Slice* pick = nullptr;
  Arch target = want.value_or(host_arch());
  for (const auto& s : slices)
    if (s.arch == target) pick = &s;
  if (!pick && !want && slices.size() == 1 && slices[0].arch) pick = &slices[0];
  if (!pick)
    fail("{}: universal binary has no {} slice (it has: {}); choose one with --arch", path,
         to_string(target), fmt::join(names, ", "));
  ObjectFile obj = parse_macho(path, file.bytes().subspan(pick->off, pick->size), pick->off);
  obj.fat_arches = names;
  return obj;
}

}  // namespace

ObjectFile open_object(const MappedFile& file, std::optional<Arch> want) {
  Bytes b = file.bytes();
  const std::string& path = file.path();
  if (b.size() < 4) fail("{}: too small to be an executable ({} bytes)", path, b.size());
  uint32_t le = uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
  uint32_t be = __builtin_bswap32(le);
  ObjectFile obj;
  if (std::memcmp(b.data(),
                  "\x7f"
                  "ELF",
                  4) == 0) {
    obj = parse_elf(path, b, 0);
  } else if (le == 0xfeedfacf || le == 0xfeedface) {
    obj = parse_macho(path, b, 0);
  } else if (be == kFatMagic || be == kFatMagic64) {
    return open_fat(file, want);
  } else {
    fail("{}: not an executable: neither ELF nor Mach-O", path);
  }
  if (want && *want != obj.arch)
    fail("{}: is {}, not {} (--arch)", path, to_string(obj.arch), to_string(*want));
  return obj;
}

}  // namespace dlvidx
