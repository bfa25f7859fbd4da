#!/usr/bin/env python3
"""Module dependency graph of src/ from `use crate::` / `crate::` paths and `super::` uses.

Nodes are files under src/ named as modules (`hart::vector::float`, a folder's mod.rs is the
folder). An edge a -> b means a names something in b. Prints the edges grouped by top-level
layer, then every cycle between files and between top-level layers (strongly connected
components of more than one node). Usage: modgraph.py [SRC] [--layers]
"""
import os
import re
import sys


def module_of(path, src):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib"):
        rel = rel[:-1]
    return "::".join(rel) or "crate"


def strip_comments(text):
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    src = args[0] if args else "src"
    files = {}
    for root, _, names in os.walk(src):
        for n in names:
            if n.endswith(".rs"):
                p = os.path.join(root, n)
                files[module_of(p, src)] = p
    mods = set(files)

    def resolve(parts):
        # Longest prefix of the path that is a module file.
        for i in range(len(parts), 0, -1):
            m = "::".join(parts[:i])
            if m in mods:
                return m
        return None

    edges = set()
    for m, p in files.items():
        text = strip_comments(open(p).read())
        # Leave test modules out: they may reach anywhere.
        text = re.split(r"#\[cfg\(test\)\]\s*mod\s+tests", text)[0]
        here = [] if m == "crate" else m.split("::")
        for path in re.findall(r"\b((?:crate|super|self)(?:::\w+)+)", text):
            parts = path.split("::")
            if parts[0] == "crate":
                parts = parts[1:]
            else:
                cur = list(here)
                while parts and parts[0] in ("super", "self"):
                    if parts[0] == "super":
                        cur = cur[:-1]
                    parts = parts[1:]
                parts = cur + parts
            t = resolve(parts)
            if t and t != m and not m.startswith(t + "::") and not t.startswith(m + "::"):
                edges.add((m, t))
        # `use super::{a, b}` and `use crate::x::{a, b}` groups.
        for head, group in re.findall(r"\b((?:crate|super)(?:::\w+)*)::\{([^}]*)\}", text):
            parts = head.split("::")
            if parts[0] == "crate":
                parts = parts[1:]
            else:
                cur = list(here)
                while parts and parts[0] == "super":
                    cur = cur[:-1]
                    parts = parts[1:]
                parts = cur + parts
            for item in re.split(r"\s*,\s*", group):
                item = item.strip().split("::")[0].split(" ")[0]
                if not item or item == "self":
                    continue
                t = resolve(parts + [item])
                if t and t != m and not m.startswith(t + "::") and not t.startswith(m + "::"):
                    edges.add((m, t))

    layer = lambda m: m.split("::")[0]
    if "--layers" in sys.argv:
        ledges = sorted({(layer(a), layer(b)) for a, b in edges if layer(a) != layer(b)})
        for a, b in ledges:
            print(f"{a} -> {b}")
    else:
        for a, b in sorted(edges):
            print(f"{a} -> {b}")
    for name, es in (
        ("file", edges),
        ("layer", {(layer(a), layer(b)) for a, b in edges if layer(a) != layer(b)}),
    ):
        for comp in sccs(es):
            print(f"CYCLE ({name}s): {' <-> '.join(sorted(comp))}")


def sccs(edges):
    graph = {}
    for a, b in edges:
        graph.setdefault(a, []).append(b)
        graph.setdefault(b, [])
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

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
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    main()
