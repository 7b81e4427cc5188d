#!/usr/bin/env python3
"""check_layout.py -- the source layout's rules (issue 16), checked on the
tree as it is: prints one line per rule broken and exits 1 if any was.

  1. No source file over MAX_LINES lines (C, headers, shell, Python,
     JavaScript, the .proto, the Makefile; generated code lives in build/
     and is not looked at).
  2. No include cycle between the modules of one component: a module is a
     .c/.h pair (x.c and x.h are one node); module A depends on B when A.c
     or A.h includes "B.h" from the same folder.
  3. The gateway's core includes no front: nothing core.h or core.c
     includes, directly or through other headers, is a front's header
     (http*.h, clients.h) or gateway.h.

    scripts/check_layout.py [REPO]      (default: the folder above this one)
"""
import os
import re
import subprocess
import sys

MAX_LINES = 700
COMPONENTS = ["gateway", "executor", "client", "client/cli", "common", "proto"]
SOURCE = re.compile(r"(\.c|\.h|\.sh|\.py|\.js|\.proto|^Makefile)$")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
FRONTS = re.compile(r"^(http.*|clients|gateway)\.h$")


def tracked(repo):
    out = subprocess.run(["git", "-C", repo, "ls-files"], capture_output=True, text=True)
    if out.returncode == 0 and out.stdout:
        return [f for f in out.stdout.splitlines() if os.path.isfile(os.path.join(repo, f))]
    files = []
    for top, dirs, names in os.walk(repo):
        dirs[:] = [d for d in dirs if d not in (".git", "build", "node_modules")]
        files += [os.path.relpath(os.path.join(top, n), repo) for n in names]
    return files


def includes(path):
    with open(path, errors="replace") as f:
        return INCLUDE.findall(f.read())


def long_files(repo, files):
    bad = []
    for f in files:
        if not SOURCE.search(os.path.basename(f)) or f.startswith("build/"):
            continue
        with open(os.path.join(repo, f), errors="replace") as fh:
            n = sum(1 for _ in fh)
        if n > MAX_LINES:
            bad.append(f"{f}: {n} lines, over {MAX_LINES}: split it by role")
    return bad


def module_graph(repo, comp):
    folder = os.path.join(repo, comp)
    if not os.path.isdir(folder):
        return {}
    names = [n for n in os.listdir(folder) if n.endswith((".c", ".h"))]
    mods = {n[:-2] for n in names}
    graph = {m: set() for m in mods}
    for n in names:
        for inc in includes(os.path.join(folder, n)):
            dep = inc[:-2] if inc.endswith(".h") else None
            if dep in mods and dep != n[:-2]:
                graph[n[:-2]].add(dep)
    return graph


def cycles(graph):
    """Each cycle once, as a list of modules (Tarjan's strongly connected
    components of more than one module)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def core_fronts(repo):
    """The headers core.c and core.h reach, transitively (within the
    project's include folders), that belong to a front."""
    dirs = [os.path.join(repo, d) for d in COMPONENTS + ["client/include"]]
    seen, todo, bad = set(), ["gateway/core.h", "gateway/core.c"], []
    while todo:
        f = todo.pop()
        path = os.path.join(repo, f)
        if f in seen or not os.path.isfile(path):
            continue
        seen.add(f)
        for inc in includes(path):
            if FRONTS.match(inc):
                bad.append(f"{f} includes {inc}: the core may include no front")
            for d in dirs:
                if os.path.isfile(os.path.join(d, inc)):
                    todo.append(os.path.relpath(os.path.join(d, inc), repo))
                    break
    return bad


def main():
    repo = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    problems = long_files(repo, tracked(repo))
    for comp in COMPONENTS:
        for cyc in cycles(module_graph(repo, comp)):
            problems.append(f"{comp}/: include cycle between modules {' <-> '.join(cyc)}")
    if os.path.isfile(os.path.join(repo, "gateway/core.h")):
        problems += core_fronts(repo)
    else:
        problems.append("gateway/core.h is missing: the fronts' core API")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
