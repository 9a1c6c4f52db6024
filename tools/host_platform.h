// The machine dlvidx runs on, as debugging sees it: OS, the hardware's
// architecture and whether this process runs translated (Rosetta 2 on an
// Apple Silicon Mac reports x86_64 from uname but the CPU is arm64).
#pragma once
#include <optional>
#include <string>

#include "preload/object_file.h"

namespace dlvidx::cli {

struct HostPlatform {
  std::string os;           // uname sysname, lower case: "linux", "darwin"
  std::string machine;      // uname machine: "x86_64", "aarch64", "arm64"
  bool translated = false;  // macOS: sysctl.proc_translated == 1
  Arch cpu() const;         // the hardware's architecture (arm64 when translated)
  Arch process() const;     // what this process runs as
};

HostPlatform host_platform();

// A reason `what` (dlv or the program, of format/arch) cannot be debugged
// natively on `host`, with its fix; nullopt when it can.
struct ArchProblem {
  std::string detail, fix;
};
std::optional<ArchProblem> dlv_arch_problem(const HostPlatform& host, ObjectFormat format,
                                            Arch arch);
std::optional<ArchProblem> binary_arch_problem(const HostPlatform& host, ObjectFormat format,
                                               Arch arch, Arch dlv_arch);

}  // namespace dlvidx::cli
