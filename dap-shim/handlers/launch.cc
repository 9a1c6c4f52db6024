// launch: learn the binary so its index can be loaded (from shared memory or
// the cache, or built in the background) while dlv starts it.
//   exec, core, replay: "program";  debug, test: the "output" dlv builds to
//   (set to a path the shim owns when the client left it out: replaced).
// substitutePath rules are kept for mapping the client's paths; noDebug means
// no index at all (set_breakpoints.cc answers why nothing binds). dlv's answer
// is launch_response.cc.
#include <unistd.h>

#include <filesystem>

#include "dap-shim/handlers/handlers.h"
#include "index/cache_dir.h"

namespace dlvidx::dap {
namespace fs = std::filesystem;

namespace {
std::string absolute_in(const std::string& p, const std::string& cwd) {
  fs::path path(p);
  if (path.is_absolute()) return path.lexically_normal().string();
  return (fs::path(cwd.empty() ? fs::current_path().string() : cwd) / path)
      .lexically_normal()
      .string();
}
}  // namespace

Outcome LaunchHandler::run(json::object& request, LaunchRequestArguments& args) {
  index_.set_substitute_paths(std::move(args.substitutePath));
  std::string mode = args.mode.value_or("debug");
  index_.set_mode(mode);
  if (args.noDebug) {  // no debugger, so no breakpoints and no index
    index_.set_no_debug();
    return Outcome::kForward;
  }
  std::string cwd = args.cwd.value_or("");
  if (mode == "exec" || mode == "core" || mode == "replay") {
    if (args.program) index_.load(absolute_in(*args.program, cwd));
    return Outcome::kForward;
  }
  if (mode != "debug" && mode != "test") return Outcome::kForward;
  Outcome outcome = Outcome::kForward;
  std::string output;
  if (args.output && !args.output->empty()) {
    output = absolute_in(*args.output, "");  // dlv resolves it against its own cwd, which is ours
  } else {
    fs::path dir = fs::path(index::default_cache_dir()) / "bin";
    std::error_code ec;
    fs::create_directories(dir, ec);
    output = (dir / fmt::format("__debug_bin_{}", getpid())).string();
    request["arguments"].as_object()["output"] = output;
    outcome = Outcome::kReplaced;
  }
  index_.expect_binary(get_int(request, "seq").value_or(0), output);
  return outcome;
}

}  // namespace dlvidx::dap
