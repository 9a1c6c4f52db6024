// fuzz_index_build: the whole index pipeline on an object file: sections ->
// libdwarf (index/dwarf/) -> Delve's line-table queries and policy
// (line_table.cc, prologue.cc with Capstone, file_line_policy.cc) -> the
// image (index_builder.cc) -> IndexView (lookup.cc).
//
// Why an object file and not a DWARF-only framing: the pipeline reads more
// than the DWARF sections (segments for the prologue disassembly, the
// identity), and the seeds are real compilers' output cut down to one
// compile unit with its text (tests/fuzz/make_seeds.py), so the fuzzer starts
// from Go's and GCC's actual DWARF 4 and 5. Seeds keep their DWARF
// uncompressed so that mutations land in it; fuzz_object covers inflation.
//
// Oracles beyond the sanitizers: the builder's own image must pass
// Verify::kFull, and looking up every key must give back the builder's PCs.
#include <algorithm>

#include "index/dwarf_model.h"
#include "index/file_line_policy.h"
#include "index/identity.h"
#include "index/index_builder.h"
#include "preload/dwarf_sections.h"
#include "tests/fuzz/fuzz_util.h"

using namespace dlvidx;
using namespace dlvidx::index;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::single_threaded();
  return 0;
}

namespace {

// What build_file_line_table promises (file_line_policy.h).
void check_table(const FileLineTable& t) {
  FUZZ_CHECK(std::adjacent_find(t.files.begin(), t.files.end(), std::greater_equal<>()) ==
             t.files.end());
  for (size_t k = 0; k < t.keys.size(); k++) {
    const FileLineResult& r = t.keys[k];
    FUZZ_CHECK(r.file < t.files.size());
    FUZZ_CHECK(uint64_t(r.pc_begin) + r.pc_count <= t.pcs.size());
    if (k)
      FUZZ_CHECK(std::pair(t.keys[k - 1].file, t.keys[k - 1].line) < std::pair(r.file, r.line));
    auto pcs = t.pcs_of(r);
    FUZZ_CHECK(std::adjacent_find(pcs.begin(), pcs.end(), std::greater_equal<>()) == pcs.end());
  }
  FUZZ_CHECK(std::is_sorted(
      t.functions.begin(), t.functions.end(),
      [](const FunctionRange& a, const FunctionRange& b) { return a.entry < b.entry; }));
}

// The image answers exactly what the table says.
void check_image(const FileLineTable& t, const IndexView& v) {
  FUZZ_CHECK(v.n_files() == t.files.size());
  for (uint32_t f = 0; f < t.files.size(); f++) {
    FUZZ_CHECK(v.file_path(f) == t.files[f]);
    FUZZ_CHECK(v.file_id(t.files[f]) == f);
  }
  for (const FileLineResult& r : t.keys) {
    Location loc = v.find_file_location(r.file, r.line);
    auto want = t.pcs_of(r);
    FUZZ_CHECK(loc.status == (want.empty() ? LookupStatus::kNoAddresses : LookupStatus::kFound));
    FUZZ_CHECK(loc.pcs.size() == want.size());
    for (size_t i = 0; i < want.size(); i++) FUZZ_CHECK(loc.pcs[i] == want[i]);
  }
  fuzz::walk_view(v, true);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::with_input(data, size, [](const MappedFile& file, const std::vector<uint8_t>& exact) {
    ObjectFile obj = fuzz::open_exact(file, exact);
    DwarfSections sections = load_dwarf_sections(file.path(), obj);
    DwarfModel model = read_dwarf(file.path(), sections);
    FileLineTable table = build_file_line_table(model, obj, file);
    check_table(table);
    std::vector<uint8_t> image = build_index_image(
        table, identify(file, obj), obj, {model.cus.size(), sections.bytes, sections.raw_bytes});
    // Not inside expect_errors' reach: the builder's image must verify.
    std::optional<IndexView> view;
    try {
      view.emplace(IndexView::open(image, IndexView::Verify::kFull));
    } catch (const Error& e) {
      std::fprintf(stderr, "the builder's image does not verify: %s\n", e.what());
      std::abort();
    }
    check_image(table, *view);
  });
  return 0;
}
