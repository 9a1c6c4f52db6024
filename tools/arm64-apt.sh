#!/usr/bin/env bash
# Debian arm64 packages for the ARM64 build and guest, without multiarch on the host.
#
#   tools/arm64-apt.sh download DIR SPEC...   fetch arm64 .debs into DIR (SPEC: name, name=version
#                                             or name/suite, as apt-get download takes them)
#   tools/arm64-apt.sh unpack ROOT SPEC...    fetch, then dpkg-deb -x each into ROOT
#   tools/arm64-apt.sh version SPEC           print the version apt would fetch
#
# A private apt state under ${XDG_CACHE_HOME:-~/.cache}/dlvidx/arm64/apt declares arm64 as the
# only architecture and reads the host's own sources and pins, so every package comes at the
# host's version (bookworm, -backports, the pinned sid Go/Delve). The host's dpkg never hears of
# arm64: `dpkg --add-architecture arm64` with multiarch -dev installs would upgrade or remove amd64
# packages on bookworm (shared/arm64/NOTES.md). Downloaded .debs are kept in the private cache.
set -euo pipefail

cache=${XDG_CACHE_HOME:-$HOME/.cache}/dlvidx/arm64/apt
mkdir -p "$cache/state/lists/partial" "$cache/archives/partial" "$cache/etc"
: > "$cache/status"
opts=(
  -o "APT::Architecture=arm64" -o "APT::Architectures::=arm64"
  -o "Dir::State=$cache/state" -o "Dir::State::status=$cache/status"
  -o "Dir::Cache=$cache" -o "Dir::Cache::archives=$cache/archives"
  -o "Dir::Etc::SourceList=/etc/apt/sources.list" -o "Dir::Etc::SourceParts=/etc/apt/sources.list.d"
  -o "Dir::Etc::Preferences=/etc/apt/preferences" -o "Dir::Etc::PreferencesParts=/etc/apt/preferences.d"
  -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root"
)
[[ $(id -u) -eq 0 ]] || opts+=(-o "APT::Sandbox::User=$(id -un)")

update() {  # once per 12 h, or when the host's sources or pins changed
  local stamp=$cache/update-stamp sig
  sig=$({ cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list \
    /etc/apt/preferences.d/* 2>/dev/null || true; } | sha256sum)
  if [[ -f $stamp && $(cat "$stamp") == "$sig" && -z $(find "$stamp" -mmin +720) ]]; then return; fi
  echo "arm64-apt: updating the private arm64 package lists in $cache" >&2
  apt-get "${opts[@]}" -qq update >&2 || { echo "arm64-apt: apt-get update failed" >&2; exit 1; }
  echo "$sig" > "$stamp"
}

download() {  # download DIR SPEC...: prints the .deb paths, one a line
  local dir=$1; shift
  mkdir -p "$dir"
  update
  local spec name deb ver
  for spec in "$@"; do
    name=${spec%%[=/]*}
    ver=$(version "$spec")
    deb=$(ls "$dir/${name}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n 1 || true)
    if [[ -z $deb ]]; then
      (cd "$dir" && apt-get "${opts[@]}" -qq download "$name=$ver" >&2) ||
        { echo "arm64-apt: cannot download $spec (arm64)" >&2; exit 1; }
      deb=$(ls "$dir/${name}_${ver//:/%3a}_"*.deb | head -n 1)
    fi
    echo "$deb"
  done
}

version() {  # version SPEC: the candidate (or the named version / suite's version)
  local spec=$1 name=${1%%[=/]*}
  update
  case $spec in
    *=*) echo "${spec#*=}" ;;
    */*) apt-cache "${opts[@]}" policy "$name" | awk -v s="${spec#*/}" '
           /^ +(\*\*\* )?[^ ]+ [0-9]+$/ { v = $(NF-1) }
           $0 ~ " " s "/" && v != "" { print v; exit }' | grep . ||
           { echo "arm64-apt: no $spec for arm64" >&2; exit 1; } ;;
    *) apt-cache "${opts[@]}" policy "$name" | awk '/Candidate:/ { print $2 }' | grep -v '(none)' | grep . ||
         { echo "arm64-apt: no candidate for $name (arm64)" >&2; exit 1; } ;;
  esac
}

cmd=${1:-}; shift || true
case $cmd in
  download) [[ $# -ge 2 ]] || { echo "usage: $0 download DIR SPEC..." >&2; exit 2; }; download "$@" ;;
  unpack)
    [[ $# -ge 2 ]] || { echo "usage: $0 unpack ROOT SPEC..." >&2; exit 2; }
    root=$1; shift; mkdir -p "$root"
    download "$cache/archives" "$@" | while read -r deb; do dpkg-deb -x "$deb" "$root"; echo "$deb"; done ;;
  version) [[ $# -eq 1 ]] || { echo "usage: $0 version SPEC" >&2; exit 2; }; version "$1" ;;
  *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
