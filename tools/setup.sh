#!/usr/bin/env bash
# One entry point for a fresh Debian bookworm machine (run as root so it can
# install packages; as another user it checks they are there):
#   bash tools/setup.sh demo    install, build, run the main job on the bundled example
#   bash tools/setup.sh test    install, build, run the whole test suite (release build with the
#                               ARM64 group in an emulated arm64 machine, then again under ASan +
#                               UBSan), the fuzz targets for a bounded time, the newest toolchain
#                               (tools/sid-stage.sh: a Debian sid root, libdwarf 0.x), write
#                               build/reliability.md, then the quick benchmark
# PRESET=asan selects the sanitizer build for `demo` (default: release).
# FUZZ_SECONDS sets each fuzz target's time in `test` (default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-}
preset=${PRESET:-release}
case "$what" in demo|test) ;; *) echo "usage: bash tools/setup.sh demo|test" >&2; exit 2 ;; esac

if [[ $(id -u) -eq 0 ]]; then
  bash tools/install-deps.sh
else
  for t in cmake ninja g++ /usr/lib/go-1.27/bin/go /usr/lib/go-1.22/bin/go dlv python3; do
    command -v "$t" >/dev/null || { echo "setup: $t is missing; run tools/install-deps.sh as root" >&2; exit 1; }
  done
  /usr/bin/python3 -c 'import pytest, pytest_timeout' 2>/dev/null ||
    { echo "setup: Debian's python3-pytest/python3-pytest-timeout are missing; run tools/install-deps.sh as root" >&2; exit 1; }
fi

cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
build=build/$preset

if [[ $what == demo ]]; then
  exec python3 tools/demo.py --dlvidx "$build/tools/dlvidx" --oracles "$build/tests/oracle" --dlv "$(command -v dlv)"
fi
# The whole suite, release build. Every stage runs even if one before failed;
# the exit status says whether all passed.
failed=()
stage() {  # stage NAME COMMAND...
  local t0=$SECONDS
  echo "=== setup: $1" >&2
  if "${@:2}"; then echo "=== setup: $1 passed ($((SECONDS - t0)) s)" >&2
  else echo "=== setup: $1 FAILED ($((SECONDS - t0)) s)" >&2; failed+=("$1"); fi
}
rm -rf build/release/reliability build/asan/reliability build/fuzz/reliability
# The linux/arm64 cross build (private sysroot of Debian's arm64 packages): the release suite's
# ARM64 group runs it in an emulated arm64 machine (tests/arm64).
if [[ $(uname -m) == x86_64 ]]; then
  stage "build (arm64)" sh -c 'bash tools/arm64-sysroot.sh >/dev/null && cmake --preset arm64 >/dev/null && cmake --build --preset arm64'
fi
stage "tests (release)" ctest --preset release -j "$(nproc)" --output-log build/release/ctest.log
# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer.
stage "build (asan)" sh -c 'cmake --preset asan >/dev/null && cmake --build --preset asan'
stage "tests (asan)" ctest --preset asan -j "$(nproc)" --output-log build/asan/ctest.log
# libFuzzer targets (clang-14), each for FUZZ_SECONDS after replaying its corpus.
stage "build (fuzz)" sh -c 'cmake --preset fuzz >/dev/null -DDLVIDX_FUZZ_SECONDS='"${FUZZ_SECONDS:-60}"' && cmake --build --preset fuzz --target fuzz_all'
stage "fuzz" ctest --preset fuzz -j "$(nproc)" --output-log build/fuzz/ctest.log
# The newest toolchain: built and tested again in a Debian sid root (root only: mmdebstrap, chroot).
if [[ $(id -u) -eq 0 ]]; then
  stage "sid (libdwarf 0.x, newest GCC, Boost, Go)" bash tools/sid-stage.sh
else
  echo "=== setup: sid stage skipped: it needs root (mmdebstrap, chroot, mounts)" >&2
fi
# docs/reliability.md, from what the runs above recorded.
stage "reliability report" python3 tests/reliability/report.py build/release/reliability build/asan/reliability \
  build/fuzz/reliability --ctest "release=build/release/ctest.log" --ctest "ASan + UBSan=build/asan/ctest.log" \
  --ctest "fuzz=build/fuzz/ctest.log" --out build/reliability.md
# Then the quick benchmark: prints its table into the log, fails only on a
# clear regression (bench/bench.py: regressions()).
stage "quick benchmark" bench/run --quick --out "$build/bench-quick"
if ((${#failed[@]})); then
  # The failed checks themselves, last, where a cut log still shows them.
  for log in build/release/ctest.log build/asan/ctest.log build/fuzz/ctest.log build/sid/ctest.log; do
    [[ -f $log ]] || continue
    grep -E '^(FAIL|[0-9]+/[0-9]+ Test +#[0-9]+: .*(Failed|Timeout|Exception))' "$log" | cut -c1-400 | head -60 |
      sed "s|^|setup: $log: |" >&2 || true
  done
  echo "setup: FAILED: ${failed[*]}" >&2; exit 1
fi
echo "setup: all passed" >&2
