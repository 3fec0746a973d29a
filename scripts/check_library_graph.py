#!/usr/bin/env python3
"""Checks the C++ libraries' dependency graph against their #includes; run by the build.

The manifest (written by CMakeLists.txt at configure time) has one line per Sluice library:
    name<TAB>source dir<TAB>sources;...<TAB>link libraries;...
Fails (exit 1, one line per problem) when
  - a file of library A includes a header of library B that A does not link (directly or
    through its dependencies): a dependency hidden from CMake;
  - the libraries' link graph has a cycle.
A header belongs to the library that compiles the .cc of the same name; a header without one
belongs to every library of its folder (including it needs any of them).
`--print` writes the graph (each library and what it links) on standard output.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def read_manifest(path, root):
    libs = {}
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line:
            continue
        name, source_dir, sources, links = line.split("\t")
        rel_dir = os.path.relpath(source_dir, root)
        files = []
        for source in filter(None, sources.split(";")):
            full = source if os.path.isabs(source) else os.path.join(source_dir, source)
            rel = os.path.relpath(full, root)
            if not rel.startswith("..") and os.path.exists(os.path.join(root, rel)):
                files.append(rel)
        deps = [l for l in links.split(";") if l]
        libs[name] = {"dir": rel_dir, "files": files, "deps": deps}
    return libs


def owners(libs):
    """Maps each repository file to the set of libraries it belongs to."""
    owner = {}
    by_dir = {}
    for name, lib in libs.items():
        by_dir.setdefault(lib["dir"], set()).add(name)
        for f in lib["files"]:
            owner.setdefault(f, set()).add(name)
            stem, _ = os.path.splitext(f)
            owner.setdefault(stem + ".h", set()).add(name)
    return owner, by_dir


def closure(libs, name, seen=None):
    seen = set() if seen is None else seen
    for dep in libs.get(name, {}).get("deps", []):
        if dep in libs and dep not in seen:
            seen.add(dep)
            closure(libs, dep, seen)
    return seen


def find_cycle(libs):
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for d in libs[n]["deps"]:
            if d not in libs:
                continue
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state:
                found = visit(d)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(libs):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def main(argv):
    if len(argv) < 3:
        print("usage: check_library_graph.py ROOT MANIFEST [--print]", file=sys.stderr)
        return 2
    root, manifest = argv[1], argv[2]
    libs = read_manifest(manifest, root)
    owner, by_dir = owners(libs)
    problems = []
    cycle = find_cycle(libs)
    if cycle:
        problems.append("the libraries' link graph has a cycle: " + " -> ".join(cycle))
    for name, lib in sorted(libs.items()):
        reach = closure(libs, name) | {name}
        # The library's sources and the headers beside them.
        files = set(lib["files"])
        files |= {os.path.splitext(f)[0] + ".h" for f in lib["files"]}
        for f in sorted(files):
            path = os.path.join(root, f)
            if not os.path.exists(path):
                continue
            for inc in INCLUDE.findall(open(path, encoding="utf-8", errors="replace").read()):
                if inc.startswith("sluice/") and inc.endswith(".pb.h"):
                    targets = {"sluice_proto"}
                elif os.path.exists(os.path.join(root, inc)):
                    targets = owner.get(inc) or by_dir.get(os.path.dirname(inc), set())
                else:
                    continue  # generated next to the build, or a system header
                targets = {t for t in targets if t in libs}
                if not targets or targets & reach:
                    continue
                problems.append(
                    f"{f} includes {inc} ({' or '.join(sorted(targets))}), "
                    f"but {name} does not link it")
    if "--print" in argv:
        for name, lib in sorted(libs.items()):
            deps = sorted(d for d in lib["deps"] if d in libs)
            print(f"{name} -> {', '.join(deps) if deps else '(none)'}")
    for p in problems:
        print("library graph: " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
