// IndexView: read-only queries over a mapped index image. Opening checks that
// every table lies inside the image (and, on request, the checksum), so a
// corrupt index is refused instead of read out of bounds. Lookups allocate
// nothing: a hash probe, then a span of PCs.
//
// Errors follow Delve's ErrCouldNotFindLine texts exactly:
//   "could not find file F"
//   "could not find statement at F:N, please use a line with a statement"
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "index/index_format.h"
#include "preload/mapped_file.h"

namespace dlvidx::index {

enum class LookupStatus {
  kFound,        // pcs holds Delve's addresses
  kNoAddresses,  // the line has code, but only in wrappers Delve skips
  kNoStatement,  // the file is known, the line has no code
  kNoFile,       // the file is not in the binary
};

struct PcList {
  uint32_t single = 0;            // used when ptr == nullptr
  const uint32_t* ptr = nullptr;  // offsets from pc_base
  uint32_t count = 0;
  uint64_t base = 0;
  uint64_t operator[](size_t i) const { return base + (ptr ? ptr[i] : single); }
  size_t size() const { return count; }
};

struct Location {
  LookupStatus status = LookupStatus::kNoFile;
  uint32_t file = UINT32_MAX;
  PcList pcs;
};

// The outcome of matching a user's path against the index's file names.
struct FileMatch {
  std::optional<uint32_t> file;      // the unique match
  std::vector<uint32_t> candidates;  // more than one: ambiguous
  enum Kind { kExact, kSuffix, kNone, kAmbiguous } kind = kNone;
};

// Delve's texts, defined once: ErrCouldNotFindLine's two forms, and what its DAP layer says of a
// breakpoint created with no addresses.
std::string no_file_text(std::string_view file);
std::string no_statement_text(std::string_view file, int64_t line);
inline constexpr std::string_view kUnableToSetBreakpoint = "unable to set breakpoint";

class IndexView {
 public:
  // kLayout checks the header and that every table lies inside the image (a
  // few microseconds); kChecksum also the XXH3 checksum over the header and
  // every table (used for shared memory objects: a changed byte anywhere,
  // PCs included, is refused); kFull also every entry (files read from disk).
  // Whatever the level, lookups on an opened view stay inside the image.
  enum class Verify { kLayout, kChecksum, kFull };
  // Throws dlvidx::Error("index is corrupt: ...") when the image is invalid.
  static IndexView open(Bytes image, Verify verify);

  const IndexHeader& header() const { return *h_; }
  uint64_t size() const { return image_.size(); }
  Bytes bytes() const { return image_; }

  uint32_t n_files() const { return static_cast<uint32_t>(h_->n_files); }
  std::string_view file_path(uint32_t f) const;
  std::string_view file_base(uint32_t f) const;
  std::optional<uint32_t> file_id(std::string_view path) const;  // exact match
  // Exact, else the unique file whose path ends with "/" + query (or equals it).
  FileMatch match_file(std::string_view query) const;

  Location find_file_location(uint32_t file, uint32_t line) const;
  // Delve's message for a failed lookup; "" when found, and for kNoAddresses,
  // which dlv's CreateBreakpoint accepts with an empty address list.
  std::string error_text(const Location& loc, std::string_view file, uint32_t line) const;

  // Lines of `file` with code in [lo, hi], ascending (for breakpointLocations
  // and for snapping a breakpoint to the next statement).
  std::vector<uint32_t> lines_with_code(uint32_t file, uint32_t lo, uint32_t hi) const;
  std::string_view function_name(uint32_t fn) const;
  uint32_t function_decl_line(uint32_t fn) const {
    return fn < h_->n_functions ? functions_[fn].decl_line : 0;
  }
  std::optional<uint32_t> function_at(uint64_t pc) const;

 private:
  Bytes image_;
  const IndexHeader* h_ = nullptr;
  const char* strings_ = nullptr;
  const FileEntry* files_ = nullptr;
  const uint32_t* file_hash_ = nullptr;
  const LineWord* words_ = nullptr;
  const uint32_t* values_ = nullptr;
  const uint32_t* pc_lists_ = nullptr;
  uint64_t pc_lists_n_ = 0;
  const FunctionEntry* functions_ = nullptr;
  // The inflated function names, made on first use and shared by copies.
  struct Names;
  std::shared_ptr<Names> names_;
  const std::string* names() const;
};

}  // namespace dlvidx::index
