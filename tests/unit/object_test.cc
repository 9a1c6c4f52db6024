// The object layer on hand-made bytes: every malformed header is refused with
// a message naming the file and the reason, never read out of bounds.
#include <zlib.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstring>
#include <vector>

#include "preload/dwarf_sections.h"
#include "preload/object_file.h"

using namespace dlvidx;
using Catch::Matchers::ContainsSubstring;

namespace {

std::vector<uint8_t> elf_header(uint16_t machine, uint64_t shoff, uint16_t shnum) {
  std::vector<uint8_t> b(64, 0);
  std::memcpy(b.data(),
              "\x7f"
              "ELF",
              4);
  b[4] = 2;   // ELF64
  b[5] = 1;   // little-endian
  b[16] = 2;  // ET_EXEC
  b[18] = machine & 0xff;
  b[19] = machine >> 8;
  std::memcpy(&b[40], &shoff, 8);
  b[58] = 64;  // shentsize
  std::memcpy(&b[60], &shnum, 2);
  return b;
}

}  // namespace

TEST_CASE("canonical DWARF names, including Mach-O's 16-byte cut", "[object]") {
  CHECK(canonical_dwarf_name(".debug_info")->canonical == ".debug_info");
  CHECK(canonical_dwarf_name(".zdebug_line")->zlib_header);
  CHECK(canonical_dwarf_name("__zdebug_line_st")->canonical == ".debug_line_str");
  CHECK(canonical_dwarf_name("__debug_line_str")->canonical == ".debug_line_str");
  CHECK(canonical_dwarf_name("__zdebug_rnglist")->canonical == ".debug_rnglists");
  CHECK(canonical_dwarf_name("__zdebug_str_off")->canonical == ".debug_str_offsets");
  CHECK_FALSE(canonical_dwarf_name(".text"));
  CHECK_FALSE(canonical_dwarf_name("__debug_bogus"));
}

TEST_CASE("ELF headers that lie are refused", "[object]") {
  SECTION("unsupported machine") {
    auto b = elf_header(3, 0, 0);
    CHECK_THROWS_WITH(parse_elf("f", b, 0), ContainsSubstring("f: unsupported ELF machine 3"));
  }
  SECTION("section table past the end") {
    auto b = elf_header(62, 1 << 20, 5);
    CHECK_THROWS_WITH(parse_elf("f", b, 0), ContainsSubstring("section header table"));
  }
  SECTION("no sections") {
    auto b = elf_header(62, 0, 0);
    CHECK_THROWS_WITH(parse_elf("f", b, 0), ContainsSubstring("no section headers"));
  }
  SECTION("truncated header") {
    auto b = elf_header(62, 0, 0);
    b.resize(30);
    CHECK_THROWS_WITH(parse_elf("f", b, 0), ContainsSubstring("f: truncated ELF header"));
  }
}

TEST_CASE("Mach-O load commands that lie are refused", "[object]") {
  std::vector<uint8_t> b(32, 0);
  uint32_t magic = 0xfeedfacf, cpu = 0x0100000c, ncmds = 1, sizeofcmds = 1000;
  std::memcpy(&b[0], &magic, 4);
  std::memcpy(&b[4], &cpu, 4);
  std::memcpy(&b[16], &ncmds, 4);
  std::memcpy(&b[20], &sizeofcmds, 4);
  CHECK_THROWS_WITH(parse_macho("m", b, 0), ContainsSubstring("m: Mach-O load commands"));
}

namespace {

Section zlib_section(const std::string& payload, uint64_t declared, Compression c) {
  static std::vector<std::vector<uint8_t>> keep;
  uLongf n = compressBound(payload.size());
  std::vector<uint8_t> z(n);
  compress(z.data(), &n, reinterpret_cast<const Bytef*>(payload.data()), payload.size());
  z.resize(n);
  std::vector<uint8_t> raw;
  if (c == Compression::kZlibHeader) {
    raw = {'Z', 'L', 'I', 'B'};
    for (int i = 7; i >= 0; i--) raw.push_back(uint8_t(declared >> (8 * i)));
  } else {
    raw.resize(24, 0);
    raw[0] = 1;  // ELFCOMPRESS_ZLIB
    std::memcpy(&raw[8], &declared, 8);
  }
  raw.insert(raw.end(), z.begin(), z.end());
  keep.push_back(raw);
  Section s;
  s.name = ".debug_line";
  s.compression = c;
  s.data = keep.back();
  return s;
}

}  // namespace

TEST_CASE("compressed sections inflate, and sizes that lie are refused", "[object]") {
  std::string payload(10000, 'x');
  for (Compression c : {Compression::kZlibHeader, Compression::kElfChdr}) {
    DwarfSections out;
    Bytes v = decompress_section("f", zlib_section(payload, payload.size(), c), out);
    CHECK(std::string(reinterpret_cast<const char*>(v.data()), v.size()) == payload);
    CHECK_THROWS_WITH(decompress_section("f", zlib_section(payload, payload.size() - 1, c), out),
                      ContainsSubstring("inflates to more than its declared"));
    CHECK_THROWS_WITH(decompress_section("f", zlib_section(payload, payload.size() + 5, c), out),
                      ContainsSubstring("inflates to 10000 bytes, but declares 10005"));
    // A zip bomb: a declared size far beyond what the input could hold.
    CHECK_THROWS_WITH(decompress_section("f", zlib_section(payload, 1ull << 40, c), out),
                      ContainsSubstring("refusing"));
  }
}
