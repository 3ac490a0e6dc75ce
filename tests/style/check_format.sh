#!/bin/bash
# Every C file of the tree is laid out as the committed .clang-format says, so a change
# cannot mix reformatting into its diff. Skipped: the frozen 1.0 headers and the pinned ABI
# layouts (copies that must stay byte for byte as they were made).
#   check_format.sh SRC_DIR
set -u
cd "${1:?usage: check_format.sh SRC_DIR}" || exit 1
command -v clang-format >/dev/null || { echo "clang-format is not installed (tools/dev.sh installs it)"; exit 1; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    files=$(git ls-files '*.c' '*.h')
else
    files=$(find . -name '*.c' -o -name '*.h' | grep -v '^./build' | sed 's|^\./||')
fi
bad=0
for f in $files; do
    case "$f" in tests/abi/include-1.0/* | tests/abi/abi_layout_*) continue ;; esac
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f (clang-format -i $f)"
        bad=$((bad + 1))
    fi
done
echo "$bad file(s) differ from .clang-format ($(clang-format --version | head -1))"
[ "$bad" = 0 ]
