#!/usr/bin/env python3
"""Parses every C# file under the given directories with tree-sitter's C# grammar.

No .NET SDK or NuGet is reachable here, so the generated C# SDK and examples are checked for syntax only:
a file passes when the parse tree has no ERROR or MISSING node.
"""
import pathlib
import sys

import tree_sitter
import tree_sitter_c_sharp

parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_c_sharp.language()))


def problems(tree):
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            yield node
        elif node.has_error:
            stack.extend(node.children)


files = sorted(f for d in sys.argv[1:] for f in pathlib.Path(d).rglob("*.cs"))
failed = 0
for f in files:
    bad = list(problems(parser.parse(f.read_bytes())))
    for node in bad:
        row, col = node.start_point
        kind = "missing" if node.is_missing else "syntax error"
        print(f"{f}:{row + 1}:{col + 1}: {kind} near {node.text[:40]!r}")
    failed += bool(bad)
if not files:
    print("no C# files found", file=sys.stderr)
    sys.exit(2)
print(f"C# syntax: {len(files) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
