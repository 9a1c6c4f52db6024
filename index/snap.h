// Where a breakpoint on FILE:LINE goes, from the index alone: the line itself when it has code
// (Delve's addresses), else -- a line without code inside a function (a comment, a blank line, a
// lone `}`) -- the next line with code of the same function, else Delve's own error (what the
// shim answers setBreakpoints with).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "index/lookup.h"

namespace dlvidx::index {

struct SnappedLocation {
  LookupStatus status = LookupStatus::kNoStatement;  // kFound: `pcs` hold the addresses
  uint32_t line = 0;          // the line armed (== the requested one unless moved)
  std::vector<uint64_t> pcs;  // link-time addresses
  std::string message;  // "", "moved from line N: no statement on line N", or Delve's error text
};

class LineSnapper {
 public:
  explicit LineSnapper(const IndexView& v) : v_(v) {}
  SnappedLocation snap(uint32_t file, int64_t line);

 private:
  // The function owning a line without code: the innermost one whose lines in this file span it.
  std::optional<uint32_t> owner_function(uint32_t file, uint32_t line);
  const IndexView& v_;
  // Per file, computed on first use: (function, first line, last line).
  std::map<uint32_t, std::vector<std::tuple<uint32_t, uint32_t, uint32_t>>> spans_;
};

}  // namespace dlvidx::index
