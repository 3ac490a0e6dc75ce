#!/bin/bash
# clang-tidy with the committed .clang-tidy over the product's C files (core, lib, plugins,
# simhv, xm), each as the build compiles it (BUILD_DIR/compile_commands.json), at zero
# findings. A file compiled twice (a plugin's source in its unit test) is checked once.
#   check_tidy.sh SRC_DIR BUILD_DIR
set -u
src=$(cd "${1:?usage: check_tidy.sh SRC_DIR BUILD_DIR}" && pwd) || exit 1
build=$(cd "${2:?usage: check_tidy.sh SRC_DIR BUILD_DIR}" && pwd) || exit 1
command -v run-clang-tidy >/dev/null || { echo "run-clang-tidy is not installed (tools/dev.sh installs clang-tidy)"; exit 1; }
[ -f "$build/compile_commands.json" ] || { echo "no $build/compile_commands.json (CMAKE_EXPORT_COMPILE_COMMANDS)"; exit 1; }
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
python3 - "$src" "$build/compile_commands.json" "$work/compile_commands.json" <<'PY' || exit 1
import json, os, sys
src, db, out = sys.argv[1], sys.argv[2], sys.argv[3]
seen, keep = set(), []
for e in json.load(open(db)):
    f = os.path.normpath(os.path.join(e["directory"], e["file"]))
    rel = os.path.relpath(f, src)
    if rel.split(os.sep)[0] in ("core", "lib", "plugins", "simhv", "xm") and rel not in seen:
        seen.add(rel)
        keep.append(e)
json.dump(keep, open(out, "w"))
print(f"{len(keep)} files")
PY
start=$(date +%s)
run-clang-tidy -p "$work" -j "${XEND_TIDY_JOBS:-2}" -quiet >"$work/out" 2>&1
# A header's finding shows once per file that includes it: count each once.
# run-clang-tidy 14 always asks for colour: strip it.
sed 's/\x1b\[[0-9;]*m//g' "$work/out" | grep -E '^/[^:]+:[0-9]+:[0-9]+: (warning|error):' |
    sort -u >"$work/findings"
cat "$work/findings"
n=$(wc -l <"$work/findings")
echo "$n finding(s) in $(($(date +%s) - start)) s ($(clang-tidy --version | grep -o 'version [0-9.]*'))"
[ "$n" = 0 ]
