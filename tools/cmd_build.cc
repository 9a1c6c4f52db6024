// dlvidx build BINARY: index a binary and publish the index.
#include <fmt/format.h>

#include <boost/json.hpp>

#include "index/build.h"
#include "tools/commands.h"

namespace dlvidx::cli {
namespace {

struct BuildArgs {
  std::string binary, arch, cache_dir;
  bool json = false, force = true, no_prefault = false;
};

boost::json::object report_json(const index::BuildReport& r) {
  boost::json::object phases;
  for (const auto& p : r.phases) phases[p.name] = p.ms;
  boost::json::object o{
      {"binary", r.path},
      {"format", std::string(to_string(r.format))},
      {"arch", std::string(to_string(r.arch))},
      {"pie", r.pie},
      {"moduledata_addr", fmt::format("{:#x}", r.moduledata_addr)},
      {"key", r.id.key_hex()},
      {"go_build_id", r.id.go_build_id},
      {"built", r.built},
      {"source", std::string(index::to_string(r.source))},
      {"location", r.location},
      {"compile_units", r.cus},
      {"files", r.files},
      {"keys", r.keys},
      {"pcs", r.pcs},
      {"functions", r.functions},
      {"rows", r.rows},
      {"dwarf_bytes", r.dwarf_bytes},
      {"dwarf_file_bytes", r.dwarf_raw_bytes},
      {"index_bytes", r.index_bytes},
      {"index_to_dwarf", r.dwarf_bytes ? double(r.index_bytes) / r.dwarf_bytes : 0.0},
      {"phases_ms", phases},
      {"total_ms", r.total_ms},
  };
  if (r.prefault)
    o["prefault"] = {{"pages", r.prefault->pages()},
                     {"resident_before", r.prefault->resident_before()},
                     {"resident_after", r.prefault->resident_after()},
                     {"ms", r.prefault->ms}};
  boost::json::array notes;
  for (const auto& n : r.notes) notes.push_back(boost::json::string(n));
  o["notes"] = notes;
  return o;
}

void print_report(const index::BuildReport& r) {
  fmt::print("{} {} ({} {}{}, key {})\n", r.built ? "indexed" : "opened", r.path,
             to_string(r.format), to_string(r.arch), r.pie ? ", PIE" : "", r.id.key_hex());
  fmt::print("  {} compile units, {} files, {} statement lines (keys), {} PCs, {} functions\n",
             r.cus, r.files, r.keys, r.pcs, r.functions);
  if (r.built)
    fmt::print(
        "  {} line rows, {} DIEs; {} keys from inlined calls; {} entries moved past a prologue ({} "
        "disassembled)\n",
        r.rows, r.dies, r.inlined_fallback_keys, r.prologue_moves, r.disassembled);
  fmt::print(
      "  DWARF {} ({} in the file{}) -> index {} ({:.1f}% of DWARF)\n", human_bytes(r.dwarf_bytes),
      human_bytes(r.dwarf_raw_bytes),
      r.compressed_sections ? fmt::format(", {} sections compressed", r.compressed_sections) : "",
      human_bytes(r.index_bytes), r.dwarf_bytes ? 100.0 * r.index_bytes / r.dwarf_bytes : 0.0);
  if (r.prefault)
    fmt::print("  prefault: {} pages ({} resident before, {} after) by {} in {:.1f} ms\n",
               r.prefault->pages(), r.prefault->resident_before(), r.prefault->resident_after(),
               r.prefault->method, r.prefault->ms);
  fmt::print("  index: {} ({})\n", r.location, index::to_string(r.source));
  std::string ph;
  for (const auto& p : r.phases)
    if (p.name != "total")
      ph += fmt::format("{}{} {:.1f} ms", ph.empty() ? "" : ", ", p.name, p.ms);
  fmt::print("  phases: {}; total {:.1f} ms\n", ph, r.total_ms);
  for (const auto& n : r.notes) fmt::print("  note: {}\n", n);
}

}  // namespace

void setup_build(CLI::App& app) {
  auto args = std::make_shared<BuildArgs>();
  auto* c = app.add_subcommand("build", "Index a Go binary: file:line -> the PCs dlv would pick");
  c->add_option("BINARY", args->binary,
                "Go executable (ELF amd64/arm64, Mach-O arm64/amd64, universal)")
      ->required();  // not CLI::ExistingFile: the open reports it, as "dlvidx: FILE: reason", exit
                     // 1
  c->add_option("--arch", args->arch, "slice of a universal Mach-O binary (amd64|arm64)");
  c->add_option("--cache-dir", args->cache_dir,
                "index cache directory (default $XDG_CACHE_HOME/dlvidx)");
  c->add_flag("--json", args->json, "print the summary as JSON on stdout");
  c->add_flag("!--reuse", args->force, "open an existing valid index instead of rebuilding");
  c->add_flag("--no-prefault", args->no_prefault, "do not prefault the DWARF pages first");
  c->footer("Example:\n  dlvidx build ./bin/server && dlvidx lookup ./bin/server main.go:42");
  c->callback([args] {
    index::BuildOptions o;
    o.arch = arch_option(args->arch);
    o.cache_dir = args->cache_dir;
    o.force = args->force;
    o.prefault = !args->no_prefault;
    bool tty = stderr_is_tty() && !args->json;
    if (tty)
      o.progress = [](std::string_view phase) {
        fmt::print(stderr, "\r\033[Kdlvidx: {}...", phase);
      };
    index::BuildReport r;
    index::open_index(args->binary, o, &r);
    if (tty) fmt::print(stderr, "\r\033[K");
    if (args->json)
      fmt::print("{}\n", boost::json::serialize(report_json(r)));
    else
      print_report(r);
  });
}

}  // namespace dlvidx::cli
