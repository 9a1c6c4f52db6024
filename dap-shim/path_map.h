// Maps the path an editor sends (Source.path) to a file of the index, in the
// order the issue fixes: the launch's substitutePath rules; the exact string;
// the path with symlinks resolved; for -trimpath builds, which record
// "<module path>/<path in module>", the name made from the go.mod above the
// file; a unique path-suffix match; case-insensitively for
// darwin/windows-style paths. Ambiguity -> no mapping (dlv gets the request).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dap-shim/protocol_requests.h"
#include "index/lookup.h"

namespace dlvidx::dap {

struct PathMapping {
  std::optional<uint32_t> file;
  std::string
      how;  // "substitutePath", "exact", "symlink", "suffix", "case-insensitive", or why not
};

PathMapping map_client_path(const index::IndexView& v, const std::string& client_path,
                            const std::vector<SubstitutePath>& rules);

}  // namespace dlvidx::dap
