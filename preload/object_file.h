// ObjectFile: what dlvidx needs of an executable, whatever its format (bloaty
// style): architecture, identity notes, loadable segments and the raw bytes of
// its sections. ELF and Mach-O (thin or universal) each have one parser that
// fills this plain struct; nothing above this layer knows the formats.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "preload/mapped_file.h"

namespace dlvidx {

enum class ObjectFormat { kElf, kMachO };
enum class Arch { kX86_64, kArm64 };

std::string_view to_string(ObjectFormat f);
std::string_view to_string(Arch a);
std::optional<Arch> parse_arch(std::string_view s);  // "amd64"/"x86_64", "arm64"/"aarch64"
Arch host_arch();

// How a section's bytes are stored in the file.
enum class Compression {
  kNone,
  kElfChdr,     // ELF SHF_COMPRESSED: Elf64_Chdr{ELFCOMPRESS_ZLIB, size} + zlib stream
  kZlibHeader,  // "ZLIB" + 8-byte big-endian size + zlib stream (Mach-O __zdebug_*, old ELF
                // .zdebug_*)
};

struct Section {
  std::string name;  // canonical ELF-style name for DWARF sections (".debug_line"), raw otherwise
  uint64_t addr = 0;
  uint64_t offset = 0;  // file offset, relative to the start of the whole file
  uint64_t size = 0;    // bytes in the file
  Compression compression = Compression::kNone;
  Bytes data;  // the raw (possibly compressed) bytes, inside the mapping
};

struct Segment {
  uint64_t vaddr = 0;
  uint64_t offset = 0;  // relative to the start of the whole file
  uint64_t filesize = 0;
};

struct ObjectFile {
  ObjectFormat format = ObjectFormat::kElf;
  Arch arch = Arch::kX86_64;
  bool pie = false;           // position independent: runtime PCs = link PCs + load bias
  uint64_t link_base = 0;     // lowest link-time address of an executable segment
  std::string go_build_id;    // Go's build ID, when present
  std::string gnu_build_id;   // hex of .note.gnu.build-id
  std::string uuid;           // hex of Mach-O LC_UUID
  uint64_t slice_offset = 0;  // start of this object in the file (universal binaries)
  uint64_t slice_size = 0;
  std::vector<std::string> fat_arches;  // the slices of a universal binary, if it was one
  std::vector<Section> sections;
  std::vector<Segment> segments;

  const Section* find(std::string_view name) const;
  // A Go build ID, or Go's pclntab / buildinfo section.
  bool is_go() const;
  // The bytes at link-time address [addr, addr+len) in the file, or empty when
  // they are not all backed by file contents.
  Bytes read_vaddr(const MappedFile& file, uint64_t addr, uint64_t len) const;
};

// Parses the mapped file. `want` picks the slice of a universal Mach-O (default:
// the only slice, else the host's architecture). Throws dlvidx::Error naming
// the file and the reason.
ObjectFile open_object(const MappedFile& file, std::optional<Arch> want = std::nullopt);

// Per-format parsers, used by open_object. `slice` is the object's bytes and
// `base` its offset in the file.
ObjectFile parse_elf(const std::string& path, Bytes slice, uint64_t base);
ObjectFile parse_macho(const std::string& path, Bytes slice, uint64_t base);

// Maps a section name as written in the file to the canonical ELF name and its
// compression: ".debug_info", ".zdebug_info", "__debug_info", "__zdebug_info",
// and Mach-O names cut at 16 bytes ("__zdebug_line_st"). Empty if not DWARF.
struct DwarfName {
  std::string canonical;
  bool zlib_header = false;
};
std::optional<DwarfName> canonical_dwarf_name(std::string_view raw);

}  // namespace dlvidx
