#!/usr/bin/env bash
# One entry point for a fresh Debian bookworm machine (run as root so it can
# install packages; as another user it checks they are there):
#   bash tools/setup.sh demo    install, build, run the main job on the bundled example
#   bash tools/setup.sh test    install, build, run the whole test suite, then the quick benchmark
# PRESET=asan selects the sanitizer build (default: release).
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
fi

cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
build=build/$preset

if [[ $what == demo ]]; then
  exec python3 tools/demo.py --dlvidx "$build/tools/dlvidx" --oracles "$build/tests/oracle" --dlv "$(command -v dlv)"
fi
ctest --preset "$preset" -j "$(nproc)"
# Then the quick benchmark: prints its table into the log, fails only on a
# clear regression (bench/bench.py: regressions()).
bench/run --quick --out "$build/bench-quick"
