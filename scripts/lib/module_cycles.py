"""Import circles between the top-level modules of each crate given on the command line.

A module depends on another when its code (comments and its `#[cfg(test)]` part left out)
names `crate::other`, or `crate::Name` that the crate root re-exports from `other`. Exits 1
listing each circle found.
"""
import os
import re
import sys


def modules(src):
    found = {}
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(root, f)
            rel = os.path.relpath(path, src)[:-3]
            if rel in ("lib", "main") or rel.startswith("bin/"):
                continue
            found.setdefault(rel.split("/")[0], []).append(path)
    return found


def code(path):
    text = open(path).read().split("#[cfg(test)]")[0]
    return "\n".join(line for line in text.split("\n") if not line.strip().startswith("//"))


def reexports(src):
    """Names the crate root re-exports, and the module each comes from."""
    names = {}
    for root in ("lib.rs", "main.rs"):
        path = os.path.join(src, root)
        if not os.path.exists(path):
            continue
        for module, items in re.findall(r"pub use (?:crate::)?([a-z_0-9]+)::\{?([^;]*?)\}?;", code(path), re.S):
            for item in re.findall(r"[A-Za-z_0-9]+", items):
                names[item] = module
    return names


def circles(crate):
    src = os.path.join(crate, "src")
    mods = modules(src)
    names = reexports(src)
    graph = {m: set() for m in mods}
    for m, paths in mods.items():
        for path in paths:
            text = code(path)
            refs = set(re.findall(r"crate::([A-Za-z_0-9]+)", text))
            for block in re.findall(r"use crate::\{([^;]*)\}", text, re.S):
                refs |= set(re.findall(r"(?:^|[,{\s])([A-Za-z_0-9]+)", block))
            for r in refs:
                target = r if r in graph else names.get(r)
                if target in graph and target != m:
                    graph[m].add(target)
    # Tarjan's strongly connected components.
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
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
                out.append({k: sorted(graph[k] & set(comp)) for k in sorted(comp)})

    for v in graph:
        if v not in index:
            visit(v)
    return out


failed = False
for crate in sys.argv[1:]:
    for circle in circles(crate):
        failed = True
        print(f"{crate}: modules import each other: {circle}", file=sys.stderr)
sys.exit(1 if failed else 0)
