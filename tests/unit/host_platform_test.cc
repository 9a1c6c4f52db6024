// doctor's architecture verdicts for hosts this machine is not: an Apple
// Silicon Mac running dlvidx natively and under Rosetta 2, and Linux hosts.
// (The macOS sysctl itself can only run on macOS; the live Linux host is
// checked by doctor.checks.)
#include "tools/host_platform.h"

#include <sys/utsname.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

using namespace dlvidx;
using namespace dlvidx::cli;
using Catch::Matchers::ContainsSubstring;

TEST_CASE("host_platform reports this machine as uname does", "[doctor]") {
  HostPlatform h = host_platform();
  struct utsname u {};
  uname(&u);
  CHECK(h.machine == u.machine);
  CHECK(h.os == "linux");
  CHECK_FALSE(h.translated);
  CHECK(h.cpu() == host_arch());
}

TEST_CASE("Apple Silicon, native: arm64 dlv debugs arm64 Mach-O", "[doctor]") {
  HostPlatform mac{"darwin", "arm64", false};
  CHECK(mac.cpu() == Arch::kArm64);
  CHECK_FALSE(dlv_arch_problem(mac, ObjectFormat::kMachO, Arch::kArm64));
  CHECK_FALSE(binary_arch_problem(mac, ObjectFormat::kMachO, Arch::kArm64, Arch::kArm64));
  auto p = binary_arch_problem(mac, ObjectFormat::kMachO, Arch::kArm64, Arch::kX86_64);
  REQUIRE(p);
  CHECK_THAT(p->fix, ContainsSubstring("arm64 dlv"));
  p = binary_arch_problem(mac, ObjectFormat::kElf, Arch::kArm64, Arch::kArm64);
  REQUIRE(p);
  CHECK_THAT(p->detail, ContainsSubstring("elf"));
}

TEST_CASE("Apple Silicon under Rosetta 2: an amd64 dlv is explained", "[doctor]") {
  HostPlatform rosetta{"darwin", "x86_64", true};
  CHECK(rosetta.process() == Arch::kX86_64);
  CHECK(rosetta.cpu() == Arch::kArm64);
  auto p = dlv_arch_problem(rosetta, ObjectFormat::kMachO, Arch::kX86_64);
  REQUIRE(p);
  CHECK_THAT(p->detail, ContainsSubstring("Rosetta 2"));
  CHECK_THAT(p->fix, ContainsSubstring("arm64 dlv"));
  CHECK_FALSE(dlv_arch_problem(rosetta, ObjectFormat::kMachO, Arch::kArm64));
  // An arm64 program is native to this Mac; an amd64 one is not.
  CHECK_FALSE(binary_arch_problem(rosetta, ObjectFormat::kMachO, Arch::kArm64, Arch::kArm64));
  p = binary_arch_problem(rosetta, ObjectFormat::kMachO, Arch::kX86_64, Arch::kX86_64);
  REQUIRE(p);
  CHECK_THAT(p->detail, ContainsSubstring("Rosetta 2"));
}

TEST_CASE("Linux: ELF machine against uname -m", "[doctor]") {
  HostPlatform x86{"linux", "x86_64", false};
  CHECK_FALSE(dlv_arch_problem(x86, ObjectFormat::kElf, Arch::kX86_64));
  CHECK(dlv_arch_problem(x86, ObjectFormat::kElf, Arch::kArm64));
  CHECK(dlv_arch_problem(x86, ObjectFormat::kMachO, Arch::kX86_64));
  auto p = binary_arch_problem(x86, ObjectFormat::kElf, Arch::kArm64, Arch::kX86_64);
  REQUIRE(p);
  CHECK_THAT(p->detail, ContainsSubstring("arm64"));
  CHECK_THAT(p->detail, ContainsSubstring("linux amd64"));
  HostPlatform arm{"linux", "aarch64", false};
  CHECK_FALSE(binary_arch_problem(arm, ObjectFormat::kElf, Arch::kArm64, Arch::kArm64));
}
