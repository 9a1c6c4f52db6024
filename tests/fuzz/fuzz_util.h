// What the four fuzz targets share: the rules for errors, the input as a
// mapped file and as an exact-size heap copy, and a walk over an index view.
//
// The contract of the parsing code is that bad input throws dlvidx::Error
// (one line naming the file and the reason). So a target swallows exactly
// that; any other exception escapes to libFuzzer and counts as a crash, as do
// sanitizer reports and FUZZ_CHECK failures (broken invariants).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "index/lookup.h"
#include "preload/error.h"
#include "preload/mapped_file.h"
#include "preload/object_file.h"

#define FUZZ_CHECK(cond)                                                                   \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)

namespace dlvidx::fuzz {

// Runs f; a dlvidx::Error is the expected answer to bad input. Returns
// whether f completed.
template <typename F>
bool expect_errors(F&& f) {
  try {
    f();
    return true;
  } catch (const Error&) {
    return false;
  }
}

// One worker thread: no thread start-up per input, and reports are simpler.
inline void single_threaded() { setenv("DLVIDX_THREADS", "1", 1); }

// The input as a file for MappedFile::open (which only takes a path): one
// memfd for the whole run, rewritten per input, so nothing touches the disk.
class MemFile {
 public:
  MemFile() : fd_(memfd_create("dlvidx-fuzz-input", MFD_CLOEXEC)) {
    FUZZ_CHECK(fd_ >= 0);
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  // Every earlier mapping must be gone (truncating under it would SIGBUS).
  std::unique_ptr<MappedFile> map(const uint8_t* data, size_t size) {
    FUZZ_CHECK(ftruncate(fd_, 0) == 0);
    for (size_t off = 0; off < size;) {
      ssize_t n = pwrite(fd_, data + off, size - off, static_cast<off_t>(off));
      FUZZ_CHECK(n > 0);
      off += static_cast<size_t>(n);
    }
    return MappedFile::open(path_);  // throws Error for an empty input
  }

 private:
  int fd_;
  std::string path_;
};

// The input as a file (one memfd for the whole run) and as an exact-size heap copy (open_exact),
// handed to f inside expect_errors.
template <typename F>
void with_input(const uint8_t* data, size_t size, F&& f) {
  static MemFile mem;
  std::vector<uint8_t> exact(data, data + size);
  expect_errors([&] {
    std::unique_ptr<MappedFile> file = mem.map(data, size);
    f(*file, exact);
  });
}

// Parses the mapped input (format dispatch, universal slices), then parses
// the chosen slice again from `exact`, a heap copy of exactly the input's
// size: ASan then sees any read past its end, which inside the page-rounded
// mapping it could not. Sections of the result point into `exact`.
inline ObjectFile open_exact(const MappedFile& file, const std::vector<uint8_t>& exact,
                             std::optional<Arch> want = std::nullopt) {
  ObjectFile mapped = open_object(file, want);
  Bytes slice = Bytes(exact).subspan(mapped.slice_offset, mapped.slice_size);
  ObjectFile obj = mapped.format == ObjectFormat::kElf
                       ? parse_elf(file.path(), slice, mapped.slice_offset)
                       : parse_macho(file.path(), slice, mapped.slice_offset);
  FUZZ_CHECK(obj.sections.size() == mapped.sections.size() && obj.arch == mapped.arch);
  obj.fat_arches = mapped.fat_arches;
  return obj;
}

// Every query an index view answers, over everything it holds: whatever the
// Verify level it was opened with, the answers stay inside the image. After
// Verify::kFull every line with code must also have an answer. Bounded by the
// image size: one lookup per set bit of the line bitmaps.
inline void walk_view(const index::IndexView& v, bool full) {
  const index::IndexHeader& h = v.header();
  for (uint32_t f = 0; f < v.n_files(); f++) {
    std::string_view path = v.file_path(f);
    FUZZ_CHECK(v.file_base(f).size() <= path.size());
    auto exact = v.file_id(path);
    FUZZ_CHECK(!exact || v.file_path(*exact) == path);
    index::FileMatch m = v.match_file(v.file_base(f));
    FUZZ_CHECK(!m.file || *m.file < v.n_files());
    for (uint32_t line : v.lines_with_code(f, 0, UINT32_MAX)) {
      index::Location loc = v.find_file_location(f, line);
      FUZZ_CHECK(!full || loc.status == index::LookupStatus::kFound ||
                 loc.status == index::LookupStatus::kNoAddresses);
      for (size_t i = 0; i < loc.pcs.size(); i++) {
        auto fn = v.function_at(loc.pcs[i]);
        FUZZ_CHECK(!fn || *fn < h.n_functions);
        if (fn) (void)v.function_name(*fn);
      }
      (void)v.error_text(loc, path, line);
    }
    (void)v.find_file_location(f, 0);
    (void)v.find_file_location(f, UINT32_MAX);
  }
  (void)v.find_file_location(v.n_files(), 1);  // unknown file
  for (uint32_t fn = 0; fn < h.n_functions; fn++) {
    (void)v.function_name(fn);
    (void)v.function_decl_line(fn);
  }
  (void)v.function_at(h.pc_base);
  (void)v.function_at(UINT64_MAX);
}

}  // namespace dlvidx::fuzz
