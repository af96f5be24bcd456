#!/usr/bin/env bash
# Formats jamd's C++ and CUDA sources with the repository's .clang-format (Debian 12's
# clang-format 14: another version may lay lines out differently).
#   bash scripts/format.sh           rewrite the files in place
#   bash scripts/format.sh --check   list the files that would change; non-zero status if any
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format.sh: clang-format not found (apt-get install clang-format)" >&2; exit 2; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.cc' '*.h' '*.cu' '*.cuh')
else  # a source tree without git (an unpacked archive): the project's own folders
  mapfile -t files < <(find bench clients daemon models realtime tests \( -name node_modules \
    -prune \) -o -type f \( -name '*.cc' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \) -print)
fi
if [ "${1:-}" != --check ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
unformatted=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
done
if [ ${#unformatted[@]} -gt 0 ]; then
  printf 'format.sh: not formatted: %s\n' "${unformatted[@]}" >&2
  echo "format.sh: run 'bash scripts/format.sh' and commit the result" >&2
  exit 1
fi
echo "format.sh: ${#files[@]} files formatted"
