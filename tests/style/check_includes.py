#!/usr/bin/env python3
"""The core reads as layers: no circle in the graph of its parts' #include "..." edges but
those docs/ARCHITECTURE.md explains.

A part is a source file of core/ without its extension (`device`), or a folder of core/
(`http/`, `lifecycle/`). A header belongs to the part of the source file that includes it
first, as its own (device.c begins with device_registry.h); else to the source file of its
name, else to the folder of its name (lifecycle.h to `lifecycle/`). A part includes another
when one of its files includes one of the other's headers. Every circle (strongly connected set of
parts) must lie inside one of the sets listed in docs/ARCHITECTURE.md as lines
    - cycle: `PART PART ...`: why
Prints every edge of a circle that is not explained, and fails.
    check_includes.py SRC_DIR
"""
import os
import re
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "."
core = os.path.join(src, "core")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def resolve(rel, inc):
    for cand in (os.path.join(os.path.dirname(rel), inc), inc):
        cand = os.path.normpath(cand)
        if os.path.isfile(os.path.join(core, cand)):
            return cand
    return None


def sources():
    for top, dirs, files in os.walk(core):
        dirs.sort()
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                yield os.path.relpath(os.path.join(top, f), core)


def includes(rel):
    with open(os.path.join(core, rel), errors="replace") as fh:
        for line in fh:
            m = INCLUDE.match(line)
            if m:
                yield m.group(1)


own = {}  # header -> the source file that includes it first
for rel in sources():
    if rel.endswith(".c"):
        first = next(includes(rel), None)
        hdr = resolve(rel, first) if first else None
        if hdr and hdr.endswith(".h"):
            own.setdefault(hdr, rel)


def part(rel):
    rel = own.get(rel, rel)
    head, name = os.path.split(rel)
    if head:
        return head.split("/")[0] + "/"
    stem = os.path.splitext(name)[0]
    if name.endswith(".h") and not os.path.exists(os.path.join(core, stem + ".c")) \
            and os.path.isdir(os.path.join(core, stem)):
        return stem + "/"
    return stem


edges = {}
for rel in sources():
    for inc in includes(rel):
        hdr = resolve(rel, inc)
        if hdr is None:
            continue
        a, b = part(rel), part(hdr)
        if a != b:
            edges.setdefault(a, {}).setdefault(b, []).append(f"{rel} -> {hdr}")

# Tarjan's strongly connected components, iteratively.
index, low, stack, on, sccs = {}, {}, [], set(), []
nodes = sorted(set(edges) | {b for e in edges.values() for b in e})
for root in nodes:
    if root in index:
        continue
    work = [(root, iter(sorted(edges.get(root, {}))))]
    index[root] = low[root] = len(index)
    stack.append(root)
    on.add(root)
    while work:
        v, it = work[-1]
        w = next(it, None)
        if w is not None:
            if w not in index:
                index[w] = low[w] = len(index)
                stack.append(w)
                on.add(w)
                work.append((w, iter(sorted(edges.get(w, {})))))
            elif w in on:
                low[v] = min(low[v], index[w])
            continue
        work.pop()
        if work:
            low[work[-1][0]] = min(low[work[-1][0]], low[v])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                sccs.append(sorted(scc))

allowed = []
with open(os.path.join(src, "docs", "ARCHITECTURE.md")) as fh:
    for line in fh:
        m = re.match(r"^\s*- cycle: `([^`]+)`", line)
        if m:
            allowed.append(set(m.group(1).split()))

bad = 0
for scc in sccs:
    if any(set(scc) <= group for group in allowed):
        print(f"explained: {' '.join(scc)}")
        continue
    bad += 1
    print(f"circle not explained in docs/ARCHITECTURE.md: {' '.join(scc)}")
    for a in scc:
        for b in sorted(edges.get(a, {})):
            if b in scc:
                print(f"    {a} -> {b}: {', '.join(edges[a][b][:3])}")
for group in allowed:
    if not any(set(scc) & group for scc in sccs if len(set(scc) & group) > 1):
        print(f"listed but no longer a circle (remove it from the list): {' '.join(sorted(group))}")
        bad += 1
print(f"{len(nodes)} parts, {sum(len(e) for e in edges.values())} edges, {bad} problem(s)")
sys.exit(1 if bad else 0)
