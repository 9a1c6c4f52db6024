// dlvidx lookup BINARY FILE:LINE...: the addresses dlv picks, from the index
// (building it first if needed). FILE is a full path or a unique suffix.
#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (fmt 11 has it only there)

#include <boost/json.hpp>
#include <chrono>
#include <iostream>

#include "index/build.h"
#include "tools/commands.h"

namespace dlvidx::cli {
namespace {

struct LookupArgs {
  std::string binary, arch, cache_dir;
  std::vector<std::string> queries;
  bool json = false, timing = false;
};

struct Answer {
  std::string file;  // as resolved (or as given when unresolved)
  uint32_t line = 0;
  std::vector<uint64_t> pcs;
  std::vector<std::string> functions;
  std::string error;
  std::string note;
};

Answer answer(const index::IndexView& v, const std::string& q) {
  Answer a;
  auto colon = q.rfind(':');
  uint64_t line = 0;
  if (colon == std::string::npos || colon + 1 == q.size() ||
      q.find_first_not_of("0123456789", colon + 1) != std::string::npos ||
      q.size() - colon - 1 > 10 || (line = std::stoull(q.substr(colon + 1))) == 0 ||
      line > UINT32_MAX) {
    a.file = q;
    a.error = fmt::format("malformed location {:?}: expected FILE:LINE", q);
    return a;
  }
  a.file = q.substr(0, colon);
  a.line = static_cast<uint32_t>(line);
  index::FileMatch m = v.match_file(a.file);
  if (m.kind == index::FileMatch::kAmbiguous) {
    std::vector<std::string> c;
    for (uint32_t f : m.candidates) c.emplace_back(v.file_path(f));
    a.error = fmt::format("location {:?} ambiguous: {}", q, fmt::join(c, ", "));
    return a;
  }
  index::Location loc;
  if (m.file) {
    a.file = v.file_path(*m.file);
    loc = v.find_file_location(*m.file, a.line);
  }
  a.error = v.error_text(loc, a.file, a.line);
  if (loc.status == index::LookupStatus::kNoAddresses)
    a.note = "no addresses: this line's code is only in wrappers dlv skips (·dwrap·, trampolines)";
  for (size_t i = 0; i < loc.pcs.size(); i++) {
    a.pcs.push_back(loc.pcs[i]);
    auto fn = v.function_at(loc.pcs[i]);
    a.functions.emplace_back(fn ? v.function_name(*fn) : "?");
  }
  return a;
}

}  // namespace

void setup_lookup(CLI::App& app) {
  auto args = std::make_shared<LookupArgs>();
  auto* c = app.add_subcommand("lookup", "Print the addresses dlv would pick for FILE:LINE");
  c->add_option("BINARY", args->binary, "Go executable")->required();
  c->add_option("LOCATION", args->queries,
                "FILE:LINE (FILE: full path or unique suffix); - reads them from stdin")
      ->required();
  c->add_option("--arch", args->arch, "slice of a universal Mach-O binary (amd64|arm64)");
  c->add_option("--cache-dir", args->cache_dir,
                "index cache directory (default $XDG_CACHE_HOME/dlvidx)");
  c->add_flag(
      "--json", args->json,
      "print [{\"file\",\"line\",\"pcs\":[\"0x…\"],\"functions\":[…],\"error\"?}] on stdout");
  c->add_flag("--timing", args->timing,
              "print on stderr how long opening the index and the lookups took");
  c->footer(
      "Exit status: 0 if every location resolved, 2 if some did not, 1 on errors.\n"
      "Example:\n  dlvidx lookup ./server main.go:42 internal/db/conn.go:107");
  c->callback([args] {
    index::BuildReport report;
    index::IndexHandle h = open_index_noted(args->binary, args->arch, args->cache_dir, &report);
    if (args->queries == std::vector<std::string>{"-"}) {
      args->queries.clear();
      for (std::string l; std::getline(std::cin, l);)
        if (!l.empty()) args->queries.push_back(l);
    }
    bool all_ok = true;
    boost::json::array out;
    std::vector<Answer> answers;
    auto t0 = std::chrono::steady_clock::now();
    for (const auto& q : args->queries) answers.push_back(answer(h.view(), q));
    double lookup_us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    if (args->timing)
      fmt::print(stderr,
                 "dlvidx: index {} from {} in {:.3f} ms; {} lookups in {:.1f} us ({:.0f} ns each, "
                 "including path matching and output formatting)\n",
                 report.built ? "built" : "opened", index::to_string(report.source),
                 report.total_ms, answers.size(), lookup_us,
                 answers.empty() ? 0.0 : lookup_us * 1000 / answers.size());
    for (const Answer& a : answers) {
      all_ok = all_ok && a.error.empty() && a.note.empty();
      if (args->json) {
        boost::json::object o{{"file", a.file}, {"line", a.line}};
        boost::json::array pcs, fns;
        for (uint64_t pc : a.pcs) pcs.push_back(boost::json::string(fmt::format("{:#x}", pc)));
        for (const auto& f : a.functions) fns.push_back(boost::json::string(f));
        o["pcs"] = pcs;
        o["functions"] = fns;
        if (!a.error.empty()) o["error"] = a.error;
        if (!a.note.empty()) o["note"] = a.note;
        out.push_back(o);
      } else if (!a.error.empty() || !a.note.empty()) {
        fmt::print("{}:{}: {}\n", a.file, a.line, a.error.empty() ? a.note : a.error);
      } else {
        for (size_t i = 0; i < a.pcs.size(); i++)
          fmt::print("{}:{} {:#x} {}\n", a.file, a.line, a.pcs[i], a.functions[i]);
      }
    }
    if (args->json) fmt::print("{}\n", boost::json::serialize(out));
    if (!all_ok) throw CLI::RuntimeError(2);
  });
}

}  // namespace dlvidx::cli
