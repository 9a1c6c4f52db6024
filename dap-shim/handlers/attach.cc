// attach: a local attach's binary is /proc/PID/exe, whose index is loaded
// while dlv attaches. Remote attach: no binary, no index. Forwarded as sent.
#include <filesystem>

#include "dap-shim/handlers/handlers.h"

namespace dlvidx::dap {

Outcome AttachHandler::run(json::object&, AttachRequestArguments& args) {
  index_.set_substitute_paths(std::move(args.substitutePath));
  if (args.mode != "local") return Outcome::kForward;
  if (args.processId && *args.processId > 0) {
    std::error_code ec;
    std::filesystem::path exe =
        std::filesystem::read_symlink(fmt::format("/proc/{}/exe", *args.processId), ec);
    if (!ec) index_.load(exe.string());
  }
  return Outcome::kForward;
}

}  // namespace dlvidx::dap
