#!/usr/bin/env bash
# Installs everything dlvidx needs on a Debian bookworm machine, as root.
# Idempotent: safe to run again; it only adds what is missing.
#
#   bookworm + bookworm-backports: the C++ toolchain and libraries, Go 1.22
#   sid, pinned at priority 100:   golang-1.27-go and delve, and nothing else
#                                  (anything more from sid would upgrade libc)
#   mmdebstrap:                    the Debian sid root of tools/sid-stage.sh (sid's libdwarf 0.x,
#                                  GCC, Boost...), made from the mirror, never installed on the host
#   linux/arm64: g++-aarch64-linux-gnu (not crossbuild-essential-arm64, which upgrades perl)
#                and qemu-system-arm for the emulated guest; the arm64 libraries come from
#                tools/arm64-sysroot.sh (a private sysroot, never `dpkg --add-architecture`)
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: run as root (it calls apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

mirror=http://deb.debian.org/debian
src=/etc/apt/sources.list.d/dlvidx.sources
pin=/etc/apt/preferences.d/dlvidx-sid
want_src="Types: deb
URIs: $mirror
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $mirror
Suites: sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
want_pin="# dlvidx: from sid only the current Go and Delve; everything else stays on bookworm.
Package: *
Pin: release n=sid
Pin-Priority: 100

Package: golang-1.27-go golang-1.27-src delve
Pin: release n=sid
Pin-Priority: 500"

changed=0
if [[ ! -f $src || "$(cat "$src")" != "$want_src" ]]; then
  printf '%s\n' "$want_src" > "$src"; changed=1
fi
if [[ ! -f $pin || "$(cat "$pin")" != "$want_pin" ]]; then
  printf '%s\n' "$want_pin" > "$pin"; changed=1
fi

stamp=/var/lib/apt/periodic/dlvidx-update-stamp
if [[ $changed -eq 1 || ! -f $stamp || -n $(find "$stamp" -mmin +720 2>/dev/null) ]]; then
  apt-get update -qq || echo "install-deps: apt-get update reported errors (unreachable extra sources?); continuing" >&2
  mkdir -p "$(dirname "$stamp")"; touch "$stamp"
fi

bookworm_pkgs=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  zlib1g-dev libdwarf-dev libcapstone-dev libxxhash-dev
  libspdlog-dev libfmt-dev libcli11-dev
  python3 python3-pytest python3-pytest-timeout gnuplot-nox procps file binutils ccache
  golang-etcd-server-dev
  mmdebstrap
  clang-14 libclang-rt-14-dev llvm-14 clang-format
)
# The ARM64 group: on an x86-64 host, cross-built and run in an emulated arm64 machine.
if [[ $(uname -m) == x86_64 ]]; then bookworm_pkgs+=(g++-aarch64-linux-gnu qemu-system-arm); fi
backports_pkgs=(
  libboost1.83-dev libboost-json1.83-dev catch2 golang-1.22-go
)
sid_pkgs=(golang-1.27-go delve)

# Node.js and npm for the VS Code DebugClient tests; a newer Node from
# elsewhere (e.g. nodesource) is kept as it is.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then bookworm_pkgs+=(nodejs npm); fi

# apt-get is itself idempotent: a package already at its candidate version is left alone,
# and -t upgrades one that an earlier dependency pulled in from plain bookworm (catch2 2.x).
apt-get install -y -qq --no-install-recommends "${bookworm_pkgs[@]}"
apt-get install -y -qq --no-install-recommends -t bookworm-backports "${backports_pkgs[@]}"
apt-get install -y -qq --no-install-recommends -t sid "${sid_pkgs[@]}"

echo "install-deps: ok ($(/usr/lib/go-1.27/bin/go version), $(/usr/lib/go-1.22/bin/go version), $(dlv version | sed -n 2p))"
