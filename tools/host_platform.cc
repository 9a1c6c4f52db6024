#include "tools/host_platform.h"

#include <fmt/format.h>
#include <sys/utsname.h>

#include <algorithm>

#include "preload/platform.h"

namespace dlvidx::cli {

Arch HostPlatform::cpu() const { return translated ? Arch::kArm64 : process(); }
Arch HostPlatform::process() const {
  return machine == "aarch64" || machine == "arm64" ? Arch::kArm64 : Arch::kX86_64;
}

HostPlatform host_platform() {
  HostPlatform h;
  struct utsname u {};
  uname(&u);
  h.os = u.sysname;
  std::transform(h.os.begin(), h.os.end(), h.os.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  h.machine = u.machine;
  h.translated = platform::runs_translated();
  return h;
}

namespace {
ObjectFormat native_format(const HostPlatform& h) {
  return h.os == "darwin" ? ObjectFormat::kMachO : ObjectFormat::kElf;
}
}  // namespace

std::optional<ArchProblem> dlv_arch_problem(const HostPlatform& h, ObjectFormat format, Arch arch) {
  if (format != native_format(h))
    return ArchProblem{
        fmt::format("dlv is a {} binary, this host runs {}", to_string(format), h.os),
        "install the dlv built for this OS"};
  if (h.translated && arch != Arch::kArm64)
    return ArchProblem{
        "dlv is amd64 and runs under Rosetta 2 on this arm64 Mac: it cannot debug arm64 programs",
        "install an arm64 dlv (e.g. GOARCH=arm64 go install "
        "github.com/go-delve/delve/cmd/dlv@latest "
        "from a native arm64 terminal)"};
  if (arch != h.cpu())
    return ArchProblem{
        fmt::format("dlv is {}, this host is {}", to_string(arch), to_string(h.cpu())),
        "install a dlv built for this host's architecture"};
  return std::nullopt;
}

std::optional<ArchProblem> binary_arch_problem(const HostPlatform& h, ObjectFormat format,
                                               Arch arch, Arch dlv_arch) {
  if (format != native_format(h) || arch != h.cpu())
    return ArchProblem{
        fmt::format("the program is {} {}, this host is {} {}{}", to_string(format),
                    to_string(arch), h.os, to_string(h.cpu()),
                    h.translated ? " (this process runs as amd64 under Rosetta 2)" : ""),
        "debug it on a machine of its own OS and architecture (dlvidx can still index it)"};
  if (arch != dlv_arch)
    return ArchProblem{fmt::format("the program is {} but dlv is {}{}", to_string(arch),
                                   to_string(dlv_arch), h.translated ? " under Rosetta 2" : ""),
                       fmt::format("use a {} dlv", to_string(arch))};
  return std::nullopt;
}

}  // namespace dlvidx::cli
