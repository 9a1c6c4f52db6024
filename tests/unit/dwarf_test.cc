// index/dwarf/: the header pre-checks (prescan.h) byte by byte, and libdwarf's
// failures reaching the caller as one dlvidx::Error naming the file and the
// reason (under ASan/LSan this also shows each Dwarf_Error is freed).
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "index/dwarf/prescan.h"
#include "index/dwarf_model.h"
#include "preload/error.h"

using namespace dlvidx;
using namespace dlvidx::index;
using Catch::Matchers::Equals;
using Catch::Matchers::StartsWith;

namespace {

const std::string kPath = "/x/prog";

void put32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; i++) b.push_back(uint8_t(v >> (8 * i)));
}
void put64(std::vector<uint8_t>& b, uint64_t v) {
  for (int i = 0; i < 8; i++) b.push_back(uint8_t(v >> (8 * i)));
}

// A .debug_rnglists header: length, version, address size, segment selector
// size, offset entry count; then `body` bytes of lists.
std::vector<uint8_t> rnglists(uint16_t version, uint8_t address_size, uint32_t body,
                              bool dwarf64 = false) {
  std::vector<uint8_t> b;
  if (dwarf64) {
    put32(b, 0xffffffff);
    put64(b, 8 + body);
  } else {
    put32(b, 8 + body);
  }
  b.push_back(uint8_t(version));
  b.push_back(uint8_t(version >> 8));
  b.push_back(address_size);
  b.push_back(0);
  put32(b, 0);
  b.resize(b.size() + body, 0);
  return b;
}

std::string rnglists_error(const std::vector<uint8_t>& s) {
  try {
    dwarf::check_rnglists_headers(kPath, Bytes(s));
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST_CASE("rnglists headers are refused exactly where libdwarf's header reader refuses",
          "[dwarf]") {
  const std::string at0 = kPath + ": malformed DWARF: .debug_rnglists header at 0x0: ";
  CHECK(rnglists_error({}) == "accepted");
  CHECK(rnglists_error(rnglists(5, 8, 4)) == "accepted");
  CHECK(rnglists_error(rnglists(5, 4, 0, /*dwarf64=*/true)) == "accepted");
  std::vector<uint8_t> two = rnglists(5, 8, 2);
  std::vector<uint8_t> second = rnglists(4, 8, 0);
  two.insert(two.end(), second.begin(), second.end());
  CHECK(rnglists_error(two) ==
        kPath + ": malformed DWARF: .debug_rnglists header at 0xe: version is not 5");

  CHECK(rnglists_error({1, 2, 3}) == at0 + "truncated length");
  CHECK(rnglists_error({0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}) == at0 + "truncated length");
  std::vector<uint8_t> past = rnglists(5, 8, 0);
  past[0] = 0x40;
  CHECK(rnglists_error(past) == at0 + "length past the section");
  std::vector<uint8_t> cut = rnglists(5, 8, 0);
  cut.resize(10);
  cut[0] = 2;
  CHECK(rnglists_error(cut) == at0 + "truncated header");
  CHECK(rnglists_error(rnglists(4, 8, 0)) == at0 + "version is not 5");
  CHECK(rnglists_error(rnglists(5, 3, 0)) == at0 + "bad address size");
  // A list running past the section end ends the scan: libdwarf accepts it.
  std::vector<uint8_t> long_list = rnglists(5, 8, 4);
  long_list.resize(long_list.size() - 2);
  CHECK(rnglists_error(long_list) == "accepted");
}

TEST_CASE("unit sizes come from the .debug_info unit headers", "[dwarf]") {
  std::vector<uint8_t> info;
  put32(info, 7);
  info.resize(11, 0);
  put32(info, 0xffffffff);
  put64(info, 3);
  info.resize(info.size() + 3, 0);
  CHECK(dwarf::unit_sizes(kPath, Bytes(info)) == std::vector<uint64_t>{11, 15});

  std::vector<uint8_t> trailing = info;
  trailing.push_back(1);  // too few bytes for a length: dropped
  CHECK(dwarf::unit_sizes(kPath, Bytes(trailing)) == std::vector<uint64_t>{11, 15});

  std::vector<uint8_t> bad = info;
  put32(bad, 100);  // past the section: the rest is one unit, for libdwarf to report
  bad.resize(bad.size() + 5, 0);
  CHECK(dwarf::unit_sizes(kPath, Bytes(bad)) == std::vector<uint64_t>{11, 15, 9});
  CHECK(dwarf::unit_sizes(kPath, Bytes()).empty());
}

TEST_CASE("libdwarf's failures become one error naming the file and the reason", "[dwarf]") {
  // One DWARF 4 unit: a DW_TAG_compile_unit with DW_AT_name "m" (abbrev 1).
  const std::vector<uint8_t> abbrev{1, 0x11, 0, 0x03, 0x08, 0, 0, 0};
  auto unit = [](uint8_t version) {
    std::vector<uint8_t> u;
    put32(u, 11);
    std::vector<uint8_t> body{version, 0, 0, 0, 0, 0, 8, 1, 'm', 0, 0};
    u.insert(u.end(), body.begin(), body.end());
    return u;
  };
  auto sections = [&](const std::vector<uint8_t>& info) {
    DwarfSections s;
    s.views[".debug_info"] = Bytes(info);
    s.views[".debug_abbrev"] = Bytes(abbrev);
    return s;
  };
  SECTION("a well-formed unit is read") {
    std::vector<uint8_t> info = unit(4);
    DwarfModel m = read_dwarf(kPath, sections(info));
    REQUIRE(m.cus.size() == 1);
    CHECK(m.cus[0].name == "m");
  }
  SECTION("no DWARF sections") {
    CHECK_THROWS_WITH(read_dwarf(kPath, DwarfSections{}),
                      Equals(kPath + ": cannot read DWARF: no DWARF sections"));
  }
  SECTION("a malformed unit header") {
    std::vector<uint8_t> info = unit(9);
    CHECK_THROWS_WITH(
        read_dwarf(kPath, sections(info)),
        Equals(kPath + ": malformed DWARF in unit at 0x0: reading a unit header after offset 0x0: "
                       "DW_DLE_VERSION_STAMP_ERROR (48) Corrupted DWARF or corrupted object"));
  }
}
