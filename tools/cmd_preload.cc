// dlvidx preload BINARY: prefault the DWARF (and .text) pages of a binary and
// report what was resident before and after.
#include <fmt/format.h>

#include "preload/mapped_file.h"
#include "preload/object_file.h"
#include "preload/prefault.h"
#include "tools/commands.h"

namespace dlvidx::cli {

void setup_preload(CLI::App& app) {
  auto binary = std::make_shared<std::string>();
  auto arch = std::make_shared<std::string>();
  auto* c = app.add_subcommand("preload", "Prefault a binary's DWARF pages into the page cache");
  c->add_option("BINARY", *binary, "Go executable")->required()->check(CLI::ExistingFile);
  c->add_option("--arch", *arch, "slice of a universal Mach-O binary (amd64|arm64)");
  c->footer("Example:\n  dlvidx preload ./server && dlv exec ./server");
  c->callback([binary, arch] {
    std::optional<Arch> a = arch_option(*arch);
    auto file = MappedFile::open(*binary);
    ObjectFile obj = open_object(*file, a);
    PrefaultReport r = prefault_dwarf(*file, obj);
    fmt::print("prefaulted {} ({} {}) by {} in {:.2f} ms\n", *binary, to_string(obj.format),
               to_string(obj.arch), r.method, r.ms);
    fmt::print("  {:<20} {:>12} {:>8} {:>16} {:>15}\n", "section", "bytes", "pages",
               "resident before", "resident after");
    for (const auto& s : r.ranges)
      fmt::print("  {:<20} {:>12} {:>8} {:>16} {:>15}\n", s.name, s.size, s.pages,
                 s.resident_before, s.resident_after);
    fmt::print("  {:<20} {:>12} {:>8} {:>16} {:>15}\n", "total", "", r.pages(), r.resident_before(),
               r.resident_after());
  });
}

}  // namespace dlvidx::cli
