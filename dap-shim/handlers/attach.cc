// attach: a local attach's binary is the process's executable
// (platform::process_executable), whose index is loaded while dlv attaches.
// Remote attach: no binary, no index. Forwarded as sent.
#include "dap-shim/handlers/handlers.h"
#include "preload/platform.h"

namespace dlvidx::dap {

Outcome AttachHandler::run(json::object&, AttachRequestArguments& args) {
  index_.set_substitute_paths(std::move(args.substitutePath));
  if (args.mode != "local") return Outcome::kForward;
  if (args.processId && *args.processId > 0) {
    if (auto exe = platform::process_executable(static_cast<pid_t>(*args.processId)))
      index_.load(*exe);
  }
  return Outcome::kForward;
}

}  // namespace dlvidx::dap
