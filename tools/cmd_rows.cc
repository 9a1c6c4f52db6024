// dlvidx rows BINARY: dump every line-table row as dlvidx reads it, in the
// format of tests/oracle/rows (Go's debug/dwarf), so tests can diff the two.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "index/dwarf_model.h"
#include "preload/dwarf_sections.h"
#include "preload/object_file.h"
#include "tools/commands.h"

namespace dlvidx::cli {

void setup_rows(CLI::App& app) {
  auto binary = std::make_shared<std::string>();
  auto arch = std::make_shared<std::string>();
  auto units = std::make_shared<bool>(false);
  auto* c = app.add_subcommand("rows", "Dump the line-table rows dlvidx reads (for oracle tests)");
  c->add_flag("--units", *units,
              "instead, one line per compile unit: offset, line program bytes, files (what dlv "
              "scans per lookup)");
  c->group("Diagnostics");
  c->footer(
      "Example:\n  dlvidx rows ./server | head        per compile unit a CU line, then its rows: "
      "address, line, flags, file");
  c->add_option("BINARY", *binary, "Go executable")->required()->check(CLI::ExistingFile);
  c->add_option("--arch", *arch, "slice of a universal Mach-O binary (amd64|arm64)");
  c->callback([binary, arch, units] {
    std::optional<Arch> a = arch_option(*arch);
    auto file = MappedFile::open(*binary);
    ObjectFile obj = open_object(*file, a);
    DwarfSections s = load_dwarf_sections(*binary, obj);
    index::DwarfModel m = index::read_dwarf(*binary, s);
    std::string buf;
    if (*units) {
      // Line program sizes from the sorted DW_AT_stmt_list offsets.
      std::vector<uint64_t> starts;
      for (const auto& cu : m.cus)
        if (cu.has_line_info) starts.push_back(cu.line_offset);
      std::sort(starts.begin(), starts.end());
      uint64_t end = s.get(".debug_line").size();
      for (const auto& cu : m.cus) {
        if (!cu.has_line_info) continue;
        auto next = std::upper_bound(starts.begin(), starts.end(), cu.line_offset);
        uint64_t bytes = (next == starts.end() ? end : *next) - cu.line_offset;
        fmt::print("{:#x}\t{}\t{}\t{}\n", cu.offset, cu.name, bytes,
                   fmt::join(cu.lines.files, "\t"));
      }
      return;
    }
    for (const auto& cu : m.cus) {
      fmt::format_to(std::back_inserter(buf), "CU {:#x} {}\n", cu.offset, cu.name);
      for (const auto& r : cu.lines.rows) {
        std::string f = cu.lines.file_name(r.file);
        fmt::format_to(std::back_inserter(buf), "{:#x} {} {:d} {:d} {:d} {}\n", r.pc, r.line,
                       r.stmt(), r.end_sequence(), r.prologue_end(), f.empty() ? "-" : f);
      }
      if (buf.size() > (1 << 20)) {
        std::fwrite(buf.data(), 1, buf.size(), stdout);
        buf.clear();
      }
    }
    std::fwrite(buf.data(), 1, buf.size(), stdout);
  });
}

}  // namespace dlvidx::cli
