#!/bin/bash
# A save file damaged after the save (docs/simhv.md, "Image format"): a changed byte in a
# page, a page put in another's place, a page cut out, or an image of the old page format
# (version 1) is refused with a message that says which, and leaves nothing behind: no
# domain in xend or the hypervisor (its memory free again). The file as saved restores.
source "$(dirname "$0")/lib.sh"

xend_start || { not_ok "xend starts"; finish; }

truncate -s 4M "$T/kernel4m"
config="(vm (name d1) (memory 64) (image (linux (kernel $T/kernel4m) (args 'sim.load=10 sim.dirty_rate=0'))))"
sum() { xget "/xend/domain/$1?op=mem_checksum" | grep -oE '[0-9]+\)$' | tr -d ')'; }
free_mb() { xget /xend/node | grep -oE '\(free_memory [0-9]+' | grep -oE '[0-9]+$'; }

run_and_save d1 "$config" "$T/d1.img"
s1=$SAVED_SUM
free0=$(free_mb)

# damage KIND: a copy of the save file at $T/bad.img, damaged so (the simhv image's offset
# in the file found by its magic; records walked from its header as docs/simhv.md says)
damage() {
    python3 - "$T/d1.img" "$T/bad.img" "$1" <<'EOF'
import struct, sys
src, dst, kind = sys.argv[1:4]
b = bytearray(open(src, 'rb').read())
img = b.index(b'SIMHVIMG')
off = img + 16 + struct.unpack_from('<I', b, img + 12)[0]
while struct.unpack_from('<I', b, off)[0] != 1:  # the first PAGES record
    off += 8 + struct.unpack_from('<I', b, off + 4)[0]
n = struct.unpack_from('<I', b, off + 8)[0]
entry, first = 8 + 4096, off + 12
if kind == 'byte':  # a byte in the middle of the second page
    b[first + entry + 8 + 2000] ^= 0x10
elif kind == 'misplaced':  # the second page said to be the first's
    b[first + entry:first + entry + 8] = b[first:first + 8]
elif kind == 'lost':  # the record's last page cut out, its count and length made to match
    del b[first + (n - 1) * entry:first + n * entry]
    struct.pack_into('<II', b, off + 4, 4 + (n - 1) * entry, n - 1)
elif kind == 'version1':
    struct.pack_into('<I', b, img + 8, 1)
open(dst, 'wb').write(b)
EOF
}

# refused KIND MESSAGE_RE: the damaged copy's restore is an error saying so, leaving nothing
refused() {
    damage "$1" || { not_ok "$1: the copy is damaged"; return; }
    body=$(xpost /xend/domain op=restore "file=$T/bad.img")
    expect_match "$1: the restore is refused: $2" "^\\(xend.err '.*$2" "$body"
    xget /xend/domain/d1 >/dev/null
    expect_eq "$1: no domain d1" 404 "$(http_status)"
    expect_eq "$1: the hypervisor holds nothing of it" "$free0" "$(free_mb)"
}

xpost /xend/domain/d1 op=destroy >/dev/null
free0=$(free_mb)
refused byte 'corrupt page [0-9]+ in the image'
refused misplaced 'corrupt page [0-9]+ in the image'
refused lost 'image checksum mismatch'
refused version1 'simhv image version 1, this simhv reads 2'
expect_match "the log says why" 'corrupt page [0-9]+ in the image' "$(cat "$T/xend.log")"

body=$(xpost /xend/domain op=restore "file=$T/d1.img")
expect_match "the file as saved restores" '^\(domain ' "$body"
expect_eq "with the memory that was saved" "$s1" "$(sum d1)"
finish
