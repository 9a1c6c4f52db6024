#!/usr/bin/env bash
# A private linux/arm64 sysroot for cross-building dlvidx (cmake --preset arm64).
#
#   tools/arm64-sysroot.sh             build the sysroot if needed; print its path on stdout
#   tools/arm64-sysroot.sh libs ELF... print the sysroot's shared libraries that the arm64 ELF
#                                      files need, resolved recursively, one absolute path a line
#
# The sysroot, ${XDG_CACHE_HOME:-~/.cache}/dlvidx/arm64/sysroot, holds Debian's arm64 builds of
# the -dev packages dlvidx's CMakeLists find (zlib, fmt, spdlog, CLI11, Boost 1.83 JSON + headers,
# libdwarf, Capstone, xxHash, Catch2 v3) and of their runtime libraries, unpacked with dpkg-deb -x
# at exactly the versions installed on the host (tools/arm64-apt.sh: a private apt state; the host's
# dpkg never hears of arm64, see shared/arm64/NOTES.md). The compiler, libstdc++'s headers and
# glibc (headers, crt files, libc.so) come from the cross toolchain, g++-aarch64-linux-gnu
# (tools/install-deps.sh), which CMake finds through cmake/aarch64-linux-gnu.cmake; the sysroot has
# no glibc. It does hold Debian's arm64 libstdc++6 and libgcc-s1 runtime packages, for the guest.
#
# Building: unpacked into a temporary directory, absolute symlinks rewritten relative to the
# sysroot (usr/lib/aarch64-linux-gnu/libz.so -> ../../../lib/aarch64-linux-gnu/libz.so.1.2.13),
# then renamed into place. <sysroot>/.dlvidx/stamp lists the packages as name=version; the sysroot
# is rebuilt when that list changes (a package added here, or upgraded on the host). Also in
# <sysroot>/.dlvidx: debs, the .deb files used, and pkgs/<name>: each runtime library package
# (one with DEBIAN/shlibs or DEBIAN/symbols) unpacked again with its control files (dpkg-deb -R),
# libc6:arm64's too (which is not in the sysroot proper), for dpkg-shlibdeps -S: CPack's Depends of
# the arm64 .deb (cmake/deb-cross-depends.cmake). Progress goes to stderr. Safe to run concurrently.
#
# `libs` leaves out glibc's own libraries (libc.so.6, libm.so.6, libpthread.so.0, libdl.so.2,
# librt.so.1, ld-linux-aarch64.so.1, ...): a guest takes those from Debian's libc6:arm64 only,
# never from the cross toolchain (its libc.so.6 is a different build: shared/arm64/NOTES.md). Each
# path printed is where the dynamic loader looks (<sysroot>/lib/aarch64-linux-gnu/libz.so.1, ...):
# copy it to the same path relative to the guest's root, dereferencing symlinks (cp -L).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
apt_sh=$here/arm64-apt.sh
base=${XDG_CACHE_HOME:-$HOME/.cache}/dlvidx/arm64
sysroot=$base/sysroot
archives=$base/apt/archives  # tools/arm64-apt.sh's own download cache
format=1                     # bump when the way the sysroot is assembled changes

# name or name/suite: the suite is where tools/install-deps.sh takes the host's package from, and
# is used only should the host not have the package installed (the host's version is used if it has).
pkgs=(
  zlib1g-dev zlib1g
  libfmt-dev libfmt9
  libspdlog-dev libspdlog1.10
  libcli11-dev
  libboost1.83-dev/bookworm-backports
  libboost-json1.83-dev/bookworm-backports libboost-json1.83.0/bookworm-backports
  libboost-container1.83-dev/bookworm-backports libboost-container1.83.0/bookworm-backports
  libboost-system1.83-dev/bookworm-backports libboost-system1.83.0/bookworm-backports
  libdwarf-dev libdwarf1 libelf1
  libcapstone-dev libcapstone4
  libxxhash-dev libxxhash0
  libcatch2-dev/bookworm-backports
  libstdc++6 libgcc-s1
)
control_only=(libc6)  # only in .dlvidx/pkgs, for the .deb's Depends: glibc is not in the sysroot

# glibc's own sonames (package libc6): never taken from the sysroot.
glibc_re='^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|ld-linux-aarch64\.so\.1|libresolv\.so\.2|libutil\.so\.1|libanl\.so\.1|libmvec\.so\.1|libnsl\.so\.1|libBrokenLocale\.so\.1|libthread_db\.so\.1|libc_malloc_debug\.so\.0|libnss_[a-z0-9_]+\.so\.2)$'

log() { echo "arm64-sysroot: $*" >&2; }
die() { log "$*"; exit 1; }

spec_version() {  # SPEC -> the version to take: the host's installed one, else apt's arm64 candidate
  local spec=$1 name=${1%%/*} v
  v=$(dpkg-query -W -f '${db:Status-Abbrev} ${Version}' "$name" 2>/dev/null | awk '$1 == "ii" { print $2 }')
  if [[ -z $v ]]; then
    v=$(bash "$apt_sh" version "$spec") || die "no arm64 version of $spec"
    log "warning: $name is not installed on the host; taking $v (arm64 candidate of $spec)"
  fi
  echo "$v"
}

want_stamp() {
  local spec
  echo "# dlvidx arm64 sysroot (tools/arm64-sysroot.sh), format $format; unpacked packages:"
  for spec in "${pkgs[@]}"; do echo "${spec%%/*}=$(spec_version "$spec")"; done
  for spec in "${control_only[@]}"; do echo "# control information only: ${spec%%/*}=$(spec_version "$spec")"; done
}

relink() {  # make every absolute symlink under ROOT relative, pointing to the same path inside ROOT
  local root=$1 link target dir rel
  while IFS= read -r -d '' link; do
    [[ -L $link ]] || continue
    target=$(readlink "$link")
    [[ $target == /* ]] || continue
    dir=$(dirname "$link")
    rel=$(realpath -m --relative-to="$dir" "$root$target")
    ln -sfn "$rel" "$link"
    [[ -e $link ]] || log "warning: ${link#"$root"} -> $target: no such file in the sysroot"
  done < <(find "$root" -path "$root/.dlvidx" -prune -o -type l -print0)
}

build() {  # build STAMP_TEXT: assemble the sysroot in a temporary directory, then rename it
  local stamp=$1 tmp line name ver deb members specs=() ctl=()
  while IFS= read -r line; do
    case $line in
      '# control information only: '*) ctl+=("${line#\# control information only: }") ;;
      '#'*) ;;
      *) specs+=("$line") ;;
    esac
  done <<< "$stamp"
  tmp=$(mktemp -d "$base/sysroot.tmp.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  mkdir -p "$tmp/.dlvidx/pkgs"
  log "downloading and unpacking ${#specs[@]} arm64 packages into $tmp"
  bash "$apt_sh" download "$archives" "${specs[@]}" "${ctl[@]}" > "$tmp/.dlvidx/debs" ||
    die "downloading the arm64 packages failed (is each host version in the archive for arm64?)"
  while IFS= read -r deb; do
    name=$(dpkg-deb -f "$deb" Package)
    ver=$(dpkg-deb -f "$deb" Version)
    [[ $(dpkg-deb -f "$deb" Architecture) == @(arm64|all) ]] || die "$deb is not an arm64 package"
    members=$(dpkg-deb --ctrl-tarfile "$deb" | tar -t)
    if grep -qE '^(\./)?(shlibs|symbols)$' <<< "$members"; then
      dpkg-deb -R "$deb" "$tmp/.dlvidx/pkgs/$name"
      relink "$tmp/.dlvidx/pkgs/$name"
    fi
    if [[ " ${ctl[*]} " == *" $name=$ver "* ]]; then continue; fi  # control information only
    dpkg-deb -x "$deb" "$tmp"
  done < "$tmp/.dlvidx/debs"
  relink "$tmp"
  for name in libz.so.1 libstdc++.so.6 libgcc_s.so.1; do
    [[ -n $(find_lib "$tmp" "$name") ]] || die "the new sysroot lacks $name"
  done
  printf '%s\n' "$stamp" > "$tmp/.dlvidx/stamp"
  if [[ -e $sysroot ]]; then mv "$sysroot" "$tmp.old"; fi
  mv "$tmp" "$sysroot"
  trap - EXIT
  rm -rf "$tmp.old"
  log "sysroot ready: $sysroot ($(du -sh "$sysroot" | cut -f1))"
}

ensure() {
  mkdir -p "$base"
  exec 9> "$base/sysroot.lock"
  flock 9
  local stamp
  stamp=$(want_stamp)
  if [[ -f $sysroot/.dlvidx/stamp && $(cat "$sysroot/.dlvidx/stamp") == "$stamp" ]]; then
    return
  fi
  if [[ -e $sysroot ]]; then log "package list or versions changed: rebuilding $sysroot"; fi
  build "$stamp"
}

find_lib() {  # find_lib ROOT SONAME: the loader's search path for arm64 Debian, inside ROOT
  local d
  for d in lib/aarch64-linux-gnu usr/lib/aarch64-linux-gnu lib usr/lib; do
    if [[ -e $1/$d/$2 ]]; then echo "$1/$d/$2"; return; fi
  done
}

readelf=$(command -v aarch64-linux-gnu-readelf || command -v readelf) || true

needed() {  # the DT_NEEDED sonames of an ELF file
  LC_ALL=C "$readelf" -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'
}

libs() {
  [[ -n $readelf ]] || die "no readelf (binutils-aarch64-linux-gnu or binutils)"
  local f so path queue=() out=()
  declare -A seen=()
  for f in "$@"; do
    [[ -f $f ]] || die "$f: no such file"
    LC_ALL=C "$readelf" -h "$f" 2>/dev/null | grep -q 'Machine:.*AArch64' || die "$f: not an arm64 ELF file"
    queue+=("$f")
  done
  while [[ ${#queue[@]} -gt 0 ]]; do
    f=${queue[0]}; queue=("${queue[@]:1}")
    while IFS= read -r so; do
      [[ -n $so && -z ${seen[$so]:-} ]] || continue
      seen[$so]=1
      [[ $so =~ $glibc_re ]] && continue
      path=$(find_lib "$sysroot" "$so")
      [[ -n $path ]] || die "$so (needed by $f) is not in the sysroot: add its arm64 package to pkgs in $0"
      out+=("$path"); queue+=("$path")
    done < <(needed "$f")
  done
  if [[ ${#out[@]} -gt 0 ]]; then printf '%s\n' "${out[@]}"; fi
}

case ${1:-} in
  '') ensure; echo "$sysroot" ;;
  libs) shift; [[ $# -ge 1 ]] || die "usage: $0 libs ELF..."; ensure; libs "$@" ;;
  -h|--help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
