#!/usr/bin/env bash
# Formats the C++ sources with the tree's .clang-format (clang-format 14, Debian's package).
#   scripts/format.sh          rewrite the files in place
#   scripts/format.sh --check  change nothing; list what is not formatted and exit 1 (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh clang-format-14
# Tracked files and new ones not yet added (but not what .gitignore leaves out): a file formatted
# only once it is committed would pass here and fail CI's check.
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp' |
  grep -v '^tests/fuzz/corpus/')
if [ "${1:-}" = "--check" ]; then
  clang-format-14 --dry-run -Werror "${files[@]}"
  echo "format: ${#files[@]} files formatted as .clang-format says"
else
  clang-format-14 -i "${files[@]}"
fi
