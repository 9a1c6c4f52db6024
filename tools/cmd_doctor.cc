// dlvidx doctor [BINARY]: checks what debugging with dlvidx needs and says how
// to fix each problem: the real dlv (not the shim itself) and its version; the
// Go version of BINARY against what that Delve accepts; the architectures of
// dlv, of this host and of BINARY; DWARF present (not -s -w); optimizations;
// the state of BINARY's index (missing, fresh, stale). Exit 1 if something
// blocks debugging.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <regex>

#include "dap-shim/dlv_process.h"
#include "index/build.h"
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

}  // namespace

void setup_doctor(CLI::App& app) {
  auto binary = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto cache = std::make_shared<std::string>();
  auto* c = app.add_subcommand(
      "doctor", "Check dlv, a binary and its index, and explain how to fix problems");
  c->add_option("BINARY", *binary, "the Go program to debug (optional)");
  c->add_flag("--json", *json, "print the checks as JSON");
  c->add_option("--cache-dir", *cache, "index cache directory (default $XDG_CACHE_HOME/dlvidx)");
  c->footer(
      "Exit status 1 when something blocks debugging.\nExample:\n  dlvidx doctor ./bin/server");
  c->callback([binary, json, cache] {
    std::vector<Check> checks;
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
      fmt::print("{}\n",
                 boost::json::serialize(boost::json::object{{"ok", !blocked}, {"checks", a}}));
    } else {
      for (auto& ch : checks) {
        fmt::print("{:<5} {:<20} {}\n", ch.status, ch.name, ch.detail);
        if (!ch.fix.empty()) fmt::print("      {:<20} fix: {}\n", "", ch.fix);
      }
    }
    if (blocked) throw CLI::RuntimeError(1);
  });
}

}  // namespace dlvidx::cli
