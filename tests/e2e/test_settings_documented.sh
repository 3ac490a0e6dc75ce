#!/bin/bash
# Every setting xend or a plugin of this tree reads (a get_* call on the config with a
# literal key) is in docs/config.md, and so in xend.conf(5): a new setting cannot ship
# undocumented. Reads the sources; starts nothing.
source "$(dirname "$0")/lib.sh"

missing=$(python3 - "$SRC_DIR" <<'PY'
import glob, re, sys
src = sys.argv[1]
keys = set()
for f in glob.glob(src + "/core/**/*.c", recursive=True) + glob.glob(src + "/plugins/**/*.c", recursive=True):
    text = open(f).read()
    keys.update(re.findall(r'get_(?:str|int|bool|list|float|double)\w*\(\s*[^,()]+,\s*"([a-z][a-z0-9-]+)"', text))
doc = open(src + "/docs/config.md").read()
print(" ".join(sorted(k for k in keys if "`%s`" % k not in doc)))
print(len(keys), file=sys.stderr)
PY
)
expect_eq "every setting read is in docs/config.md" "" "$missing"
finish
