// dlvidx: a script-like main. Every subcommand lives in its own cmd_*.cc.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "dap-shim/dlv_process.h"
#include "dlvidx/version.h"
#include "preload/error.h"
#include "tools/commands.h"

namespace dlvidx::cli {

std::string human_bytes(uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  if (n < 1024 * 1024) return fmt::format("{:.1f} KiB", n / 1024.0);
  if (n < 1024ull * 1024 * 1024) return fmt::format("{:.1f} MiB", n / 1048576.0);
  return fmt::format("{:.2f} GiB", n / 1073741824.0);
}

bool stderr_is_tty() { return isatty(STDERR_FILENO); }

std::optional<Arch> arch_option(const std::string& s) {
  if (s.empty()) return std::nullopt;
  if (auto a = parse_arch(s)) return a;
  throw Error("--arch: expected amd64 or arm64, got " + s);
}

index::IndexHandle open_index_noted(const std::string& binary, const std::string& arch,
                                    const std::string& cache_dir, index::BuildReport* report) {
  index::BuildOptions o;
  o.arch = arch_option(arch);
  o.cache_dir = cache_dir;
  index::BuildReport r;
  index::IndexHandle h = index::open_index(binary, o, &r);
  // A refused (stale, corrupt, foreign) index and what was done about it.
  for (const auto& n : r.notes) fmt::print(stderr, "dlvidx: note: {}\n", n);
  if (report) *report = std::move(r);
  return h;
}

}  // namespace dlvidx::cli

namespace {

// Installed as (or linked to under) the name `dlv` -- for vscode-go's
// go.alternateTools -- dlvidx behaves as dlv: `dlv dap ...` is the shim, and
// every other dlv command runs the real dlv unchanged.
int as_dlv(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "dap") return -1;  // handled as `dlvidx dap`
  std::string real;
  try {
    real = dlvidx::dap::find_dlv("");
  } catch (const dlvidx::Error& e) {
    fmt::print(stderr, "dlvidx (as dlv): {}\n", e.what());
    return 127;
  }
  std::vector<char*> args{real.data()};
  for (int i = 1; i < argc; i++) args.push_back(argv[i]);
  args.push_back(nullptr);
  execv(real.c_str(), args.data());
  fmt::print(stderr, "dlvidx (as dlv): cannot run {}: {}\n", real, std::strerror(errno));
  return 127;
}

}  // namespace

int main(int argc, char** argv) {
  // Logs never go to stdout: it may carry JSON or, in `dlvidx dap`, the protocol.
  spdlog::set_default_logger(spdlog::stderr_color_mt("dlvidx"));
  spdlog::set_pattern("dlvidx: %l: %v");
  if (std::filesystem::path(argv[0]).filename() == "dlv") {
    if (int rc = as_dlv(argc, argv); rc >= 0) return rc;
  }

  CLI::App app{
      "dlvidx: a Delve-exact file:line -> PC index for Go binaries, and a DAP shim for dlv"};
  app.set_version_flag("--version", std::string("dlvidx ") + DLVIDX_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  dlvidx build ./server                 index a binary (cached per binary identity)\n"
      "  dlvidx lookup ./server main.go:42     the addresses dlv would pick for main.go:42\n"
      "  dlvidx preload ./server               prefault the binary's DWARF pages\n"
      "  dlvidx explain ./server main.go:42    where a breakpoint on main.go:42 binds, or why not\n"
      "  dlvidx dap --listen=127.0.0.1:4711    a drop-in for `dlv dap` (see dlvidx dap --help)\n"
      "  dlvidx doctor ./server                check dlv, the binary and its index; how to fix "
      "each problem");
  dlvidx::cli::setup_build(app);
  dlvidx::cli::setup_lookup(app);
  dlvidx::cli::setup_preload(app);
  dlvidx::cli::setup_rows(app);
  dlvidx::cli::setup_dap(app);
  dlvidx::cli::setup_doctor(app);
  dlvidx::cli::setup_explain(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const dlvidx::Error& e) {
    fmt::print(stderr, "dlvidx: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "dlvidx: {}\n", e.what());
    return 1;
  }
  return 0;
}
