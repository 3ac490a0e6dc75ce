#!/bin/sh
# The shipped block-file script: the node on the first output line, dry-run, argument
# errors; a real bind and unbind of a loop device when run as root with losetup and free
# loop devices, else that part is skipped.
#
# Usage: test_block_file.sh SCRIPTS_DIR. Exit 0 pass, 1 fail.
set -eu

bf=${1:?usage: $0 SCRIPTS_DIR}/block-file
tmp=$(mktemp -d /tmp/xend-test-block-file-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../vif/script_check.sh"

img=$tmp/disk.img
dd if=/dev/zero of="$img" bs=1024 count=64 2>/dev/null

out=$(XEND_SCRIPT_DRY_RUN=1 "$bf" bind "$img")
check "dry-run bind prints a node first" /dev/loop-dry-run "$(echo "$out" | head -n 1)"
check "dry-run bind says what it would run" "dry-run: losetup --find --show $img" \
    "$(echo "$out" | sed -n 2p)"
check "dry-run unbind" "dry-run: losetup --detach /dev/loop-dry-run" \
    "$(XEND_SCRIPT_DRY_RUN=1 "$bf" unbind /dev/loop-dry-run)"
check "bind of a relative path fails" 1 "$(XEND_SCRIPT_DRY_RUN=1 status "$bf" bind disk.img)"
check "bind of a missing file fails" 1 "$(XEND_SCRIPT_DRY_RUN=1 status "$bf" bind "$tmp/none")"
check "unbind of a non-node fails" 1 "$(XEND_SCRIPT_DRY_RUN=1 status "$bf" unbind "$img")"
check "an unknown action fails" 1 "$(XEND_SCRIPT_DRY_RUN=1 status "$bf" mount "$img")"
check "missing arguments fail" 1 "$(status "$bf" bind)"

if [ "$(id -u)" = 0 ] && command -v losetup >/dev/null 2>&1 && [ -e /dev/loop-control ] &&
    node=$("$bf" bind "$img" 2>/dev/null | head -n 1) && [ -n "$node" ]; then
    check "bind gives a block device" yes "$([ -b "$node" ] && echo yes || echo no)"
    check "the node is bound to the file" yes \
        "$(losetup -j "$img" | grep -q "^$node:" && echo yes || echo no)"
    "$bf" unbind "$node" >/dev/null
    check "unbind releases it" no "$(losetup -j "$img" | grep -q "^$node:" && echo yes || echo no)"
else
    echo "skip real loop device part (needs root, losetup and a free loop device)"
fi

if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all checks passed"
