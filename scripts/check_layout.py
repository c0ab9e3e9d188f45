#!/usr/bin/env python3
"""Checks the code map against the CMake link graph, which is its source of truth.

    python3 scripts/check_layout.py [REPO]

Reads each `r1_library(NAME PCH ... DEPS ...)` line of CMakeLists.txt (the folders each library
links directly) and fails, naming file and line, when
  - a file of src/NAME or include/r1/NAME includes "r1/OTHER/..." for a folder OTHER that NAME's
    library does not link, directly or through the libraries it links;
  - the code map's row for NAME (docs/development.md, "Code map", column "may use") differs from
    NAME's direct r1 dependencies.
Exit 0 and one line per folder when everything agrees; exit 1 with every disagreement otherwise.
"""
import os
import re
import sys


def link_graph(cmake_text):
    graph = {}
    for m in re.finditer(r"^r1_library\((\w+)\s+PCH\s+\w+\s+DEPS\s+([^)]*)\)", cmake_text, re.M):
        graph[m.group(1)] = [d[3:] for d in m.group(2).split() if d.startswith("r1_") and d != "r1_pcre2"]
    return graph


def closure(graph, name):
    seen, todo = set(), list(graph.get(name, []))
    while todo:
        d = todo.pop()
        if d not in seen:
            seen.add(d)
            todo += graph.get(d, [])
    return seen


CODE_MAP = "docs/development.md"


def code_map(page_text, folders):
    """The code map's "may use" column per folder, the r1 folders only (libtorch and the like are not
    checked). Only the "## Code map" section of the page is read."""
    section = re.search(r"^## Code map\n(.*?)(?=^## |\Z)", page_text, re.M | re.S)
    rows = {}
    for m in re.finditer(r"^\| `(\w+)/` \| .* \| (.*) \|$", section.group(1) if section else "", re.M):
        uses = m.group(2).strip()
        words = [] if uses.startswith("—") else [w.strip() for w in uses.split(",")]
        rows[m.group(1)] = sorted(w for w in words if w in folders)
    return rows


def main():
    repo = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    graph = link_graph(open(os.path.join(repo, "CMakeLists.txt")).read())
    problems = []
    include = re.compile(r'^\s*#\s*include\s+"r1/(\w+)/')
    for name in sorted(graph):
        allowed = closure(graph, name) | {name}
        for top in (os.path.join(repo, "src", name), os.path.join(repo, "include", "r1", name)):
            if not os.path.isdir(top):
                continue
            for file in sorted(os.listdir(top)):
                path = os.path.join(top, file)
                for n, line in enumerate(open(path, encoding="utf-8"), 1):
                    m = include.match(line)
                    if m and m.group(1) not in allowed:
                        problems.append(f"{os.path.relpath(path, repo)}:{n}: includes r1/{m.group(1)}/ but r1_{name} "
                                        f"does not link r1_{m.group(1)} (CMakeLists.txt: link it, or move the code)")
    rows = code_map(open(os.path.join(repo, CODE_MAP)).read(), set(graph))
    for name in sorted(graph):
        direct = sorted(graph[name])
        if name == "cli":
            continue  # "everything"
        if rows.get(name) is None:
            problems.append(f"{CODE_MAP}: the code map has no row for {name}/")
        elif rows[name] != direct:
            problems.append(f"{CODE_MAP}: the code map says {name}/ may use {', '.join(rows[name]) or 'nothing'}; "
                            f"CMakeLists.txt links {', '.join(direct) or 'nothing'}")
    for p in problems:
        print(p)
    if problems:
        return 1
    for name in sorted(graph):
        print(f"{name}: links {', '.join(sorted(graph[name])) or 'no r1 library'}; includes agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
