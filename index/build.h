// The index pipeline, one phase per step (each timed):
//   map binary -> parse object -> identify -> [published? done]
//   -> prefault -> inflate DWARF -> read DWARF (libdwarf) -> Delve's policy
//   -> lay out the image -> publish (cache file + shared memory)
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "index/identity.h"
#include "index/store.h"
#include "preload/object_file.h"
#include "preload/prefault.h"
#include "preload/timer.h"

namespace dlvidx::index {

struct BuildOptions {
  std::optional<Arch> arch;
  std::string cache_dir;  // empty: the default (store.h)
  bool force = false;     // rebuild even if a valid index is published
  bool prefault = true;
  std::function<void(std::string_view phase)> progress;  // called as each phase starts
};

struct BuildReport {
  std::string path;
  BinaryIdentity id;
  ObjectFormat format = ObjectFormat::kElf;
  Arch arch = Arch::kX86_64;
  bool pie = false;
  uint64_t moduledata_addr = 0;  // runtime.firstmoduledata's link address: the PIE load-bias anchor
  bool built = false;            // false: an existing index was opened
  IndexSource source = IndexSource::kBuilt;
  std::string location;
  uint64_t cus = 0, files = 0, keys = 0, pcs = 0, functions = 0, rows = 0, stmt_rows = 0;
  uint64_t dies = 0, inlined_fallback_keys = 0, prologue_moves = 0, disassembled = 0;
  uint64_t dwarf_bytes = 0, dwarf_raw_bytes = 0, compressed_sections = 0, index_bytes = 0;
  std::optional<PrefaultReport> prefault;
  std::vector<PhaseTime> phases;
  double total_ms = 0;
  std::vector<std::string> notes;  // stale/corrupt copies found and replaced
};

// Opens the published index of `path`, building it first when there is none
// (or when opts.force). Throws dlvidx::Error naming the file and the reason.
IndexHandle open_index(const std::string& path, const BuildOptions& opts,
                       BuildReport* report = nullptr);

}  // namespace dlvidx::index
