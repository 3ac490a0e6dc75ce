#!/usr/bin/env python3
"""clang-tidy with the committed .clang-tidy over the product's C files (core, lib, plugins,
simhv, xm), each as the build compiles it (BUILD_DIR/compile_commands.json), at zero
findings. A file compiled twice (a plugin's source in its unit test) is checked once.

Files run in parallel (XEND_TIDY_JOBS, default 2). A file found clean is remembered in
BUILD_DIR/tidy-cache under a digest of everything its result depends on: clang-tidy's
version, .clang-tidy, the file's compile command, and the text of the file and of every
header it includes (as the build's compiler lists them, with __clang_analyzer__ defined);
a later run skips it while none of these changed. XEND_TIDY_CACHE=0 checks every file.
    check_tidy.py SRC_DIR BUILD_DIR [FILE...]   (FILEs: only these, paths from SRC_DIR)
"""
import concurrent.futures
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

PRODUCT = ("core", "lib", "plugins", "simhv", "xm")
FINDING = re.compile(r"^(/[^:\s]+):(\d+):(\d+): (warning|error): .*\[[^\]]+\]$")
COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def entries(src, db, only):
    """The product's compile commands, one per source file."""
    seen, keep = set(), []
    for e in db:
        path = os.path.normpath(os.path.join(e["directory"], e["file"]))
        rel = os.path.relpath(path, src)
        if rel.split(os.sep)[0] not in PRODUCT or rel in seen or (only and rel not in only):
            continue
        seen.add(rel)
        args = e["arguments"] if "arguments" in e else shlex.split(e["command"])
        keep.append((rel, path, e["directory"], args, e))
    return keep


def digest(common, path, directory, args):
    """What the file's result depends on, or None when its headers cannot be listed."""
    cmd, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in ("-o", "-MF", "-MT", "-MQ"):
            skip = True
        elif a not in ("-c", "-MD", "-MMD"):
            cmd.append(a)
    deps = subprocess.run(cmd + ["-D__clang_analyzer__=1", "-M"], cwd=directory,
                          capture_output=True, text=True)
    if deps.returncode != 0:
        return None
    files = deps.stdout.replace("\\\n", " ").split(":", 1)[-1].split()
    h = hashlib.sha256(common)
    h.update(" ".join(args).encode())
    for f in sorted(set(files) | {path}):
        h.update(f.encode())
        try:
            with open(os.path.join(directory, f), "rb") as fh:
                h.update(hashlib.sha256(fh.read()).digest())
        except OSError:
            return None
    return h.hexdigest()


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: check_tidy.py SRC_DIR BUILD_DIR [FILE...]")
    src, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    only = {os.path.normpath(f) for f in sys.argv[3:]}
    jobs = int(os.environ.get("XEND_TIDY_JOBS", "2"))
    use_cache = os.environ.get("XEND_TIDY_CACHE", "1") != "0"
    db_path = os.path.join(build, "compile_commands.json")
    try:
        version = subprocess.run(["clang-tidy", "--version"], capture_output=True,
                                 text=True, check=True).stdout
        db = json.load(open(db_path))
    except FileNotFoundError as e:
        sys.exit(f"check_tidy: {e.filename} is missing (tools/dev.sh installs clang-tidy; "
                 "the build writes compile_commands.json)")
    with open(os.path.join(src, ".clang-tidy"), "rb") as fh:
        common = version.encode() + fh.read()
    todo = entries(src, db, only)
    cache = os.path.join(build, "tidy-cache")
    os.makedirs(cache, exist_ok=True)
    known = set(os.listdir(cache))
    # The project's own headers, wherever the source tree is.
    header_filter = "^" + re.escape(src) + "/(" + "|".join(PRODUCT + ("include",)) + ")/"
    start = time.monotonic()

    # clang-tidy checks a file once per command the database has for it: give it one.
    db_dir = tempfile.TemporaryDirectory(prefix="xend-tidy-")
    with open(os.path.join(db_dir.name, "compile_commands.json"), "w") as fh:
        json.dump([t[4] for t in todo], fh)

    def check(item):
        rel, path, directory, args, _ = item
        key = digest(common, path, directory, args) if use_cache else None
        if key is not None and os.path.exists(os.path.join(cache, key)):
            return rel, [], key
        r = subprocess.run(["clang-tidy", "--quiet", "-p", db_dir.name, "--header-filter",
                            header_filter, path], capture_output=True, text=True)
        out = COLOUR.sub("", r.stdout + r.stderr)
        found = [l for l in out.splitlines() if FINDING.match(l)]
        if r.returncode != 0 and not found:
            found = [f"{path}:1:1: error: clang-tidy failed (exit {r.returncode}): "
                     f"{out.strip()[-300:]} [check_tidy]"]
        if not found and key is not None:
            open(os.path.join(cache, key), "w").close()
        return rel, found, None if found else key

    findings, cached, kept = set(), 0, set()
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for rel, found, key in pool.map(check, todo):
            cached += key is not None and not found and key in known
            kept.add(key)
            findings.update(found)  # a header's finding shows once per file that includes it
    if not only:  # what no file of this tree needs any more
        for old in known - kept:
            os.remove(os.path.join(cache, old))
    for f in sorted(findings):
        print(f)
    print(f"{len(findings)} finding(s) in {len(todo)} files ({cached} unchanged since a clean "
          f"run) in {time.monotonic() - start:.0f} s ({version.splitlines()[0].strip()})")
    sys.exit(1 if findings else 0)


main()
