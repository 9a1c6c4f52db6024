// One function per subcommand: `setup_X(app)` adds the subcommand and its
// options; the callback runs it. Each prints errors as "dlvidx: <message>"
// and exits non-zero (see main.cc).
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "index/build.h"
#include "preload/error.h"
#include "preload/object_file.h"

namespace dlvidx::cli {

void setup_build(CLI::App& app);
void setup_lookup(CLI::App& app);
void setup_preload(CLI::App& app);
void setup_rows(CLI::App& app);
void setup_dap(CLI::App& app);
void setup_doctor(CLI::App& app);
void setup_explain(CLI::App& app);

// Shared by subcommands.
std::string human_bytes(uint64_t n);
bool stderr_is_tty();
// The value of --arch: nullopt when empty; throws on anything but amd64/arm64.
std::optional<Arch> arch_option(const std::string& s);
// The index of BINARY (--arch, --cache-dir), opened or built; notes what was refused on stderr.
index::IndexHandle open_index_noted(const std::string& binary, const std::string& arch,
                                    const std::string& cache_dir,
                                    index::BuildReport* report = nullptr);

}  // namespace dlvidx::cli
