#!/usr/bin/env bash
# The newest toolchain (issue #13): dlvidx built and tested inside a Debian sid root, with sid's
# libdwarf 0.x (the 0.x interface of index/dwarf/object_access.cc), GCC, CMake, fmt, spdlog,
# Boost, CLI11, Catch2, Capstone, xxHash, Go and Delve; the host (bookworm) is not touched.
#
#   bash tools/sid-stage.sh            as root: make or reuse the root, build, run the stage's tests
#   bash tools/sid-stage.sh --shell    the same root, build tree mounted, an interactive shell
#
# The root is made with mmdebstrap from the Debian mirror and kept as a tarball under
# ${XDG_CACHE_HOME:-~/.cache}/dlvidx/sid/, remade when its package list changes or it is more
# than 14 days old (sid moves: a stale root would prove less). Each run unpacks it into a fresh
# directory (about 10 s) and removes that directory afterwards. The run is in its own mount and
# PID namespaces (unshare): /proc, /dev, a tmpfs /tmp, the source tree (read-only, at /src), the
# build tree (build/sid, at /build), and the stage's caches (ccache, Go's build cache, the test
# corpus, dlv's stored answers: sid/home, at /root/.cache) are mounted there and go away with it;
# no process outlives it. The tests: the unit tests, the CLI checks, every go127 rows test
# (dlvidx == Go's debug/dwarf, row by row), errors.bad_binaries, the Delve-agreement tests of the
# example (plain, +opt, +trimpath), the generated program and a seeded sample of cmd/go
# (DLVIDX_DELVE_CMDGO_SAMPLE), and DAP sessions through the shim that arm every line of the example
# where dlv would and stop there (plain and PIE). Go 1.22 is not in sid: its
# tests are left out. ctest's log: build/sid/ctest.log.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
mode=${1:-test}
case "$mode" in test|--shell) ;; *) echo "usage: bash tools/sid-stage.sh [--shell]" >&2; exit 2 ;; esac
[[ $(id -u) -eq 0 ]] || { echo "sid-stage: run as root (mmdebstrap, chroot and mounts)" >&2; exit 1; }
for t in mmdebstrap unshare chroot; do
  command -v "$t" >/dev/null || { echo "sid-stage: $t is missing (tools/install-deps.sh installs it)" >&2; exit 1; }
done

pkgs=(g++ cmake ninja-build pkgconf ccache git ca-certificates file binutils procps
      libdwarf-dev zlib1g-dev libfmt-dev libspdlog-dev libboost-dev libboost-json-dev libcli11-dev
      catch2 libcapstone-dev libxxhash-dev golang-1.27-go delve python3 python3-pytest
      python3-pytest-timeout)
mirror=http://deb.debian.org/debian
cache=${XDG_CACHE_HOME:-$HOME/.cache}/dlvidx/sid
mkdir -p "$cache/ccache" "$cache/home"
chmod 700 "$cache"
stamp=$(printf '%s\n' "${pkgs[@]}" | sha256sum | cut -c1-12)
tarball=$cache/root-$stamp.tar

# The mirror's sid Release file can be past its Valid-Until date (shared/sid/NOTES.md).
noexpire='Acquire::Check-Valid-Until "false"'
if [[ ! -s $tarball || -n $(find "$tarball" -mtime +14 2>/dev/null) ]]; then
  echo "sid-stage: making the sid root (mmdebstrap, about a minute)" >&2
  t0=$SECONDS
  tmp=$cache/making-$stamp.tar
  mmdebstrap --quiet --format=tar --variant=apt --aptopt="$noexpire" \
    --include="$(IFS=,; echo "${pkgs[*]}")" sid "$tmp" "$mirror"
  mv "$tmp" "$tarball"
  find "$cache" -maxdepth 1 \( -name 'root-*.tar' -o -name 'making-*.tar' \) ! -name "root-$stamp.tar" -delete
  echo "sid-stage: root made in $((SECONDS - t0)) s" >&2
fi

run=$(mktemp -d "$cache/run.XXXXXX")
cleanup() { rm -rf --one-file-system "$run"; }
trap cleanup EXIT
mkdir "$run/root"
tar -xf "$tarball" -C "$run/root"
mkdir -p "$src/build/sid"

# The tests of the stage, as ctest -R/-E patterns.
include='^(unit|cli)\.|^rows\.|^errors\.bad_binaries$|^delve\.(example|gen|cmdgo)-go127-linux-amd64|^dap\.every_line\.stops\.go127(-pie)?$'
exclude='go122'
inner=$(cat <<'EOF'
set -euo pipefail
echo "sid-stage: $(g++ --version | head -1); $(cmake --version | head -1); libdwarf $(sed -n "s/^#define DW_LIBDWARF_VERSION \"\(.*\)\"/\1/p" /usr/include/libdwarf/libdwarf.h); $(/usr/lib/go-1.27/bin/go version); $(dlv version | sed -n 2p)" >&2
cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_POLICY_DEFAULT_CMP0167=NEW \
  -DDLVIDX_DELVE_CMDGO_SAMPLE=3000 >/build/configure.log
# ninja's progress lines left out (errors and warnings are kept); its exit status is the build's.
cmake --build /build | { grep -v '^\[[0-9]*/[0-9]*\] ' || true; }
ctest --test-dir /build -R "$INCLUDE" -E "$EXCLUDE" -j "$(nproc)" --output-on-failure --output-log /build/ctest.log
EOF
)
[[ $mode == --shell ]] && inner='cd /build; exec bash -i'
# The mounts are made in new mount and PID namespaces: they, and every process, end with it.
unshare --mount --pid --fork --mount-proc="$run/root/proc" bash -c '
  set -e
  r=$1 src=$2 cache=$3
  mount --rbind /dev "$r/dev"
  mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
  mkdir -p "$r/src" "$r/build" "$r/root/.cache" "$r/ccache"
  mount --bind "$src" "$r/src"
  mount -o remount,bind,ro "$r/src"
  mount --bind "$src/build/sid" "$r/build"
  mount --bind "$cache/home" "$r/root/.cache"
  mount --bind "$cache/ccache" "$r/ccache"
  cp /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
  exec chroot "$r" env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 TERM="${TERM:-dumb}" \
    CCACHE_DIR=/ccache PYTHONDONTWRITEBYTECODE=1 INCLUDE="$4" EXCLUDE="$5" bash -c "$6"
' _ "$run/root" "$src" "$cache" "$include" "$exclude" "$inner"
