// dlvidx doctor [BINARY]: checks what debugging with dlvidx needs and says how
// to fix each problem: the real dlv (not the shim itself) and its version; the
// Go version of BINARY against what that Delve accepts; the architectures of
// dlv, of this host and of BINARY; DWARF present (not -s -w); optimizations;
// the state of BINARY's index (missing, fresh, stale); with --workspace DIR,
// how DIR's .go files map to BINARY's files (by which rule, and which do not,
// and why). Exit 1 if something blocks debugging.
#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <regex>

#include "dap-shim/dlv_process.h"
#include "index/build.h"
#include "index/diagnose.h"
#include "index/identity.h"
#include "index/store.h"
#include "preload/buildinfo.h"
#include "preload/dwarf_sections.h"
#include "preload/mapped_file.h"
#include "tools/commands.h"
#include "tools/host_platform.h"

namespace dlvidx::cli {
namespace {

struct Check {
  std::string name, status, detail, fix;  // status: ok | warn | fail
};

std::string run_capture(const std::string& exe, const std::vector<std::string>& args) {
  std::string cmd = "'" + exe + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " 2>&1";
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
  }
  return out;
}

std::optional<std::pair<int, int>> minor_of(const std::string& s, const std::regex& re) {
  std::smatch m;
  if (!std::regex_search(s, m, re)) return std::nullopt;
  return std::make_pair(std::stoi(m[1]), std::stoi(m[2]));
}

// The path-mapping summary of a workspace: its .go files mapped to the binary's files as the
// shim would map an editor's paths (index::SourceMap, no substitutePath rules).
struct Workspace {
  std::string dir;
  size_t files = 0, mapped = 0, ambiguous = 0;
  bool truncated = false;
  std::map<std::string, size_t> by_rule;
  struct Unmapped {
    std::string file, verdict, reason;
  };
  std::vector<Unmapped> unmapped;  // the first kMaxListed
  size_t unmapped_total = 0;
};

constexpr size_t kMaxWorkspaceFiles = 50000, kMaxWalkSteps = 1000000, kMaxListed = 10;

// DIR's .go files, sorted; .git, hidden and `_` directories and testdata left out (the go
// command ignores them too).
std::vector<std::string> workspace_files(const std::string& dir, bool* truncated) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  std::error_code ec;
  fs::recursive_directory_iterator walk(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) throw Error(fmt::format("--workspace {}: {}", dir, ec.message()));
  size_t steps = 0;
  for (; !ec && walk != fs::recursive_directory_iterator(); walk.increment(ec)) {
    if (++steps > kMaxWalkSteps || out.size() >= kMaxWorkspaceFiles) {
      *truncated = true;
      break;
    }
    const fs::path& p = walk->path();
    std::string name = p.filename().string();
    std::error_code e2;
    if (walk->is_directory(e2)) {
      if (name.starts_with(".") || name.starts_with("_") || name == "testdata")
        walk.disable_recursion_pending();
    } else if (name.ends_with(".go") && walk->is_regular_file(e2)) {
      out.push_back(p.string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Workspace map_workspace(const std::string& binary, const std::string& dir,
                        const std::string& cache_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  Workspace w;
  w.dir = fs::absolute(dir, ec).lexically_normal().string();
  while (w.dir.size() > 1 && w.dir.ends_with("/")) w.dir.pop_back();
  if (ec || !fs::is_directory(w.dir, ec))
    throw Error(fmt::format("--workspace {}: not a directory", dir));
  auto files = workspace_files(w.dir, &w.truncated);
  index::BuildOptions o;
  o.cache_dir = cache_dir;
  index::IndexHandle h = index::open_index(binary, o);
  const index::IndexView& v = h.view();
  index::SourceMap map(v, {});
  index::LineSnapper snap(v);
  index::SessionFacts facts;
  auto mtime = fs::last_write_time(binary, ec);
  if (!ec) facts.binary_mtime = mtime;
  index::Diagnoser diagnoser(v, map, snap, facts);
  w.files = files.size();
  for (const auto& f : files) {
    const index::PathMapping& m = map.map(f);
    if (m.file) {
      w.mapped++;
      w.by_rule[m.rule]++;
      continue;
    }
    if (!m.candidates.empty()) w.ambiguous++;
    if (w.unmapped_total++ < kMaxListed) {
      index::Diagnosis d = diagnoser.diagnose(f, 1);
      w.unmapped.push_back({f, std::string(index::to_string(d.verdict)), d.message});
    }
  }
  return w;
}

std::string rule_counts(const Workspace& w) {
  std::vector<std::pair<std::string, size_t>> r(w.by_rule.begin(), w.by_rule.end());
  std::stable_sort(r.begin(), r.end(), [](auto& a, auto& b) { return a.second > b.second; });
  std::string out;
  for (auto& [rule, n] : r) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", rule, n);
  return out;
}

}  // namespace

void setup_doctor(CLI::App& app) {
  auto binary = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto cache = std::make_shared<std::string>();
  auto workspace = std::make_shared<std::string>();
  auto* c = app.add_subcommand(
      "doctor", "Check dlv, a binary and its index, and explain how to fix problems");
  c->add_option("BINARY", *binary, "the Go program to debug (optional)");
  c->add_flag("--json", *json, "print the checks as JSON");
  c->add_option("--cache-dir", *cache, "index cache directory (default $XDG_CACHE_HOME/dlvidx)");
  c->add_option("--workspace", *workspace,
                "a source directory: how its .go files map to BINARY's files (builds the index)");
  c->footer(
      "Exit status 1 when something blocks debugging.\nExamples:\n  dlvidx doctor ./bin/server\n"
      "  dlvidx doctor ./bin/server --workspace ~/src/server");
  c->callback([binary, json, cache, workspace] {
    if (!workspace->empty() && binary->empty())
      throw Error("--workspace needs BINARY: the program whose files the workspace maps to");
    if (std::error_code ec; !workspace->empty() && !std::filesystem::is_directory(*workspace, ec))
      throw Error(fmt::format("--workspace {}: not a directory", *workspace));
    std::vector<Check> checks;
    std::optional<Workspace> ws;
    std::string dlv;
    std::optional<std::pair<int, int>> dlv_ver;
    try {
      dlv = dap::find_dlv("");
      std::string v = run_capture(dlv, {"version"});
      dlv_ver = minor_of(v, std::regex(R"(Version: (\d+)\.(\d+))"));
      checks.push_back(
          {"dlv", "ok",
           fmt::format("{} ({})", dlv,
                       dlv_ver ? fmt::format("Delve {}.{}", dlv_ver->first, dlv_ver->second)
                               : "version unknown"),
           ""});
    } catch (const Error& e) {
      checks.push_back({"dlv", "fail", e.what(),
                        "install Delve (Debian: apt-get install delve), or set DLVIDX_DLV"});
    }
    HostPlatform host = host_platform();
    checks.push_back(
        {"host", "ok",
         fmt::format("{} {}{}", host.os, host.machine,
                     host.translated ? " (amd64 under Rosetta 2 on an arm64 Mac)" : ""),
         ""});
    Arch dlv_arch = host.cpu();
    if (!dlv.empty()) {
      try {
        auto f = MappedFile::open(dlv);
        ObjectFile o = open_object(*f);
        dlv_arch = o.arch;
        auto p = dlv_arch_problem(host, o.format, o.arch);
        checks.push_back(
            {"dlv architecture", p ? "fail" : "ok",
             p ? p->detail : fmt::format("dlv is {} {}", to_string(o.format), to_string(o.arch)),
             p ? p->fix : ""});
      } catch (const Error&) {
      }
    }
    if (!binary->empty()) {
      try {
        auto f = MappedFile::open(*binary);
        ObjectFile o = open_object(*f);
        auto p = binary_arch_problem(host, o.format, o.arch, dlv_arch);
        checks.push_back(
            {"binary architecture", p ? "fail" : "ok",
             p ? fmt::format("{}: {}", *binary, p->detail)
               : fmt::format("{} is {} {}", *binary, to_string(o.format), to_string(o.arch)),
             p ? p->fix : ""});
        auto bi = read_go_buildinfo(o);
        if (!o.is_go()) {
          checks.push_back({"go", "fail", "not a Go binary", "dlvidx indexes Go binaries only"});
        } else if (bi) {
          auto gv = minor_of(bi->go_version, std::regex(R"(go(\d+)\.(\d+))"));
          std::string st = "ok", fix;
          if (gv && dlv_ver && dlv_ver->first == 1 && gv->first == 1) {
            // Delve supports the three newest Go releases at its own release (1.27.x:
            // Go 1.25-1.27).
            int hi = dlv_ver->second, lo = dlv_ver->second - 2;
            if (gv->second > hi || gv->second < lo) {
              st = "warn";
              fix = fmt::format(
                  "Delve {}.{} supports Go 1.{}-1.{}: add --check-go-version=false (launch.json: "
                  "\"dlvFlags\": [\"--check-go-version=false\"]) or use a matching Delve",
                  dlv_ver->first, dlv_ver->second, lo, hi);
            }
          }
          checks.push_back({"go version", st, fmt::format("built by {}", bi->go_version), fix});
          auto gc = bi->setting("-gcflags");
          bool unopt =
              gc && gc->find("-N") != std::string::npos && gc->find("-l") != std::string::npos;
          checks.push_back({"optimizations", unopt ? "ok" : "warn",
                            gc ? "-gcflags=" + *gc : "built with optimizations (no -gcflags)",
                            unopt ? ""
                                  : "breakpoints may move and variables be unreadable; build with "
                                    "-gcflags=all=\"-N -l\""});
        }
        bool dwarf = o.find(".debug_info") && o.find(".debug_line");
        checks.push_back({"DWARF", dwarf ? "ok" : "fail",
                          dwarf ? "present" : "no .debug_info/.debug_line",
                          dwarf ? "" : "rebuild without -ldflags=\"-s -w\""});
        if (dwarf) {
          index::BinaryIdentity id = index::identify(*f, o);
          index::IndexStore store(*cache);
          std::vector<std::string> notes;
          if (store.open(id, &notes))
            checks.push_back({"index", "ok", fmt::format("fresh (key {})", id.key_hex()), ""});
          else if (auto last = store.last_key_for(*binary); last && *last != id.key)
            checks.push_back(
                {"index", "warn",
                 fmt::format("stale: indexed as {:016x}, the binary has changed since", *last),
                 fmt::format("dlvidx build {}", *binary)});
          else
            checks.push_back(
                {"index", "warn", "missing",
                 fmt::format("dlvidx build {} (or let the first session build it)", *binary)});
          if (!workspace->empty()) {
            try {
              ws = map_workspace(*binary, *workspace, *cache);
              std::string detail =
                  fmt::format("{} of {} .go files in {} map to the binary{}", ws->mapped, ws->files,
                              ws->dir, ws->truncated ? " (truncated: the first files only)" : "");
              std::string st = "ok", fix;
              if (ws->mapped == 0) {
                st = "warn";
                fix = "is this the binary's source? else map it: substitutePath in launch.json";
              } else if (ws->ambiguous) {
                st = "warn";
                fix =
                    fmt::format("{} files match several of the binary's: add substitutePath rules",
                                ws->ambiguous);
              }
              checks.push_back({"path mapping", st, detail, fix});
            } catch (const Error& e) {
              checks.push_back({"path mapping", "warn", e.what(), "the workspace was not mapped"});
            }
          }
        }
      } catch (const Error& e) {
        checks.push_back({"binary", "fail", e.what(),
                          "check the path; dlvidx reads ELF and Mach-O Go binaries"});
      }
    }
    bool blocked = false;
    for (auto& ch : checks) blocked = blocked || ch.status == "fail";
    if (*json) {
      boost::json::array a;
      for (auto& ch : checks)
        a.push_back(
            {{"check", ch.name}, {"status", ch.status}, {"detail", ch.detail}, {"fix", ch.fix}});
      boost::json::object out{{"ok", !blocked}, {"checks", a}};
      if (ws) {
        boost::json::object rules;
        for (auto& [rule, n] : ws->by_rule) rules[rule] = n;
        boost::json::array unmapped;
        for (auto& u : ws->unmapped)
          unmapped.push_back({{"file", u.file}, {"verdict", u.verdict}, {"reason", u.reason}});
        out["workspace"] = {{"dir", ws->dir},       {"files", ws->files},
                            {"mapped", ws->mapped}, {"truncated", ws->truncated},
                            {"by_rule", rules},     {"not_mapped", ws->unmapped_total},
                            {"unmapped", unmapped}};
      }
      fmt::print("{}\n", boost::json::serialize(out));
    } else {
      for (auto& ch : checks) {
        fmt::print("{:<5} {:<20} {}\n", ch.status, ch.name, ch.detail);
        if (!ch.fix.empty()) fmt::print("      {:<20} fix: {}\n", "", ch.fix);
      }
      if (ws) {
        fmt::print("\npath mapping: {} of {} .go files in {} map to {}{}\n", ws->mapped, ws->files,
                   ws->dir, *binary, ws->truncated ? " (truncated: the first files only)" : "");
        if (!ws->by_rule.empty()) fmt::print("  by rule: {}\n", rule_counts(*ws));
        if (ws->unmapped_total) {
          fmt::print("  not mapping: {}{}\n", ws->unmapped_total,
                     ws->unmapped_total > ws->unmapped.size()
                         ? fmt::format(" (the first {})", ws->unmapped.size())
                         : "");
          for (auto& u : ws->unmapped) fmt::print("    {}: {}\n", u.file, u.reason);
        }
      }
    }
    if (blocked) throw CLI::RuntimeError(1);
  });
}

}  // namespace dlvidx::cli
