// fuzz_object: the input is an executable as dlvidx maps it: ELF64, Mach-O 64
// or a universal (fat) Mach-O. Covers preload/: format dispatch and slice
// choice (open_object, every --arch), the ELF and Mach-O parsers, the DWARF
// section views with zlib inflation of SHF_COMPRESSED / "ZLIB" sections
// (load_dwarf_sections and decompress_section per section), Go's build info,
// identity notes, and link-address reads (read_vaddr).
#include "index/identity.h"
#include "preload/buildinfo.h"
#include "preload/dwarf_sections.h"
#include "tests/fuzz/fuzz_util.h"

using namespace dlvidx;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::single_threaded();
  return 0;
}

namespace {

void exercise(const MappedFile& file, const ObjectFile& obj) {
  (void)obj.is_go();
  (void)index::identify(file, obj);  // hashes the raw DWARF bytes
  if (auto bi = read_go_buildinfo(obj)) {
    (void)bi->setting("-gcflags");
    (void)bi->setting("vcs.revision");
  }
  for (const Section& s : obj.sections) {
    FUZZ_CHECK(s.data.size() == s.size);
    (void)obj.read_vaddr(file, s.addr, std::min<uint64_t>(s.size, 64));
    (void)canonical_dwarf_name(s.name);
    // Each section alone, so a bad one does not hide the others.
    fuzz::expect_errors([&] {
      DwarfSections owner;
      Bytes b = decompress_section(file.path(), s, owner);
      FUZZ_CHECK(s.compression != Compression::kNone || b.data() == s.data.data());
    });
  }
  for (const Segment& seg : obj.segments)
    (void)obj.read_vaddr(file, seg.vaddr, std::min<uint64_t>(seg.filesize, 16));
  fuzz::expect_errors([&] {
    DwarfSections d = load_dwarf_sections(file.path(), obj);
    FUZZ_CHECK(d.compressed || d.bytes == d.raw_bytes);
    FUZZ_CHECK(!d.get(".debug_info").empty() && !d.get(".debug_line").empty());
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::with_input(data, size, [](const MappedFile& file, const std::vector<uint8_t>& exact) {
    for (std::optional<Arch> want :
         {std::optional<Arch>(), std::optional(Arch::kX86_64), std::optional(Arch::kArm64)})
      fuzz::expect_errors([&] { exercise(file, fuzz::open_exact(file, exact, want)); });
  });
  return 0;
}
