#!/usr/bin/env python3
"""Rewrites the benchmark block of README.md (between `<!-- bench:start -->` and `<!-- bench:end -->`) from
the results `tests/bench/bench.py` wrote. Usage: readme_table.py [results.json] [README.md]"""
import json
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
RESULTS = pathlib.Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target") / "bench" / "results.json"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def ok_mark(ok):
    return "" if ok is None else ("yes" if ok else "**no**")


def block(results):
    m = results["machine"]
    lines = [
        START,
        f"Last run: {results['date']}, on {m['nproc']} CPUs (nproc) of {m['cpu']}.",
        "",
        "| measure | value | target | ok? |",
        "|---|---|---|---|",
    ]
    for r in results["rows"]:
        lines.append(f"| {r['measure']} | {r['value']} | {r['target']} | {ok_mark(r['ok'])} |")
    missed = len(results["missed"])
    lines += [
        "",
        f"{missed} target(s) missed." if missed else "Every target met.",
        "Regenerate with `make bench`: it runs `tests/bench/bench.py`, then `tests/bench/readme_table.py` "
        "rewrites this block from the results (also when a target is missed; `make bench` then fails).",
        END,
    ]
    return "\n".join(lines)


def main():
    results_path = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS
    readme_path = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "README.md"
    if not results_path.exists():
        sys.exit(f"{results_path} does not exist: the benchmark wrote no results")
    results = json.loads(results_path.read_text())
    text = readme_path.read_text()
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start or text.count(START) != 1 or text.count(END) != 1:
        sys.exit(f"{readme_path} needs exactly one {START} ... {END} block")
    readme_path.write_text(text[:start] + block(results) + text[end + len(END):])
    print(f"{readme_path}: benchmark block rewritten from {results_path}")


if __name__ == "__main__":
    main()
