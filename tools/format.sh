#!/usr/bin/env bash
# The C++ sources in .clang-format's style (Debian bookworm's clang-format 14).
#   bash tools/format.sh           reformat every C++ file in place
#   bash tools/format.sh --check   list the files that differ and exit 1 (the suite's format.clang)
set -euo pipefail
cd "$(dirname "$0")/.."
cf=$(command -v clang-format-14 || command -v clang-format || true)
[[ -n $cf ]] || { echo "format: clang-format is missing (tools/install-deps.sh installs it)" >&2; exit 1; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.cc' '*.h' | grep -v '^build/')
else
  mapfile -t files < <(find index preload dap-shim tools tests bench -name '*.cc' -o -name '*.h')
fi
if [[ ${1:-} == --check ]]; then
  bad=()
  for f in "${files[@]}"; do
    [[ -f $f ]] || continue
    "$cf" --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
  done
  if ((${#bad[@]})); then
    printf 'format: not in .clang-format style (run bash tools/format.sh): %s\n' "${bad[@]}" >&2
    exit 1
  fi
  echo "format: ${#files[@]} C++ files in .clang-format style ($("$cf" --version | head -1))"
else
  for f in "${files[@]}"; do [[ -f $f ]] && "$cf" -i "$f"; done
  echo "format: ${#files[@]} files"
fi
