"""The fault matrix: what `test_fault_matrix.py` records, rendered as a markdown table (printed at the end of
the pytest output and, when every fault kind ran, written under target/ so that a test run leaves the work
tree as it was). `make readme-tables` (running this file) copies the last complete table into
fault-matrix.md and README.md."""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
PATH = pathlib.Path(__file__).resolve().parent / "fault-matrix.md"
README = ROOT / "README.md"
GENERATED = ROOT / "target" / "e2e" / "fault-matrix.md"
GENERATED_TABLE = GENERATED.with_name("fault-matrix-table.md")
START, END = "<!-- fault-matrix:start -->", "<!-- fault-matrix:end -->"


def save(table):
    """Writes the document and the bare table of a complete run under target/."""
    GENERATED.parent.mkdir(parents=True, exist_ok=True)
    GENERATED.write_text(document(table))
    GENERATED_TABLE.write_text(table)


def publish():
    """Copies the last complete run's matrix into the tracked fault-matrix.md and README.md."""
    if not GENERATED.exists():
        sys.exit(f"no complete fault matrix in {GENERATED.relative_to(ROOT)}: run `tests/e2e/run.sh -k fault_matrix`")
    PATH.write_text(GENERATED.read_text())
    update_readme(GENERATED_TABLE.read_text())
    print(f"{PATH.relative_to(ROOT)} and README.md updated from {GENERATED.relative_to(ROOT)}")


def update_readme(table):
    """Rewrites the README's fault-matrix block with the table of this run."""
    text = README.read_text()
    if START not in text or END not in text:
        return False
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{table}\n{END}{tail}")
    return True

# Rows: a fault kind, what it does, and the rule's other members.
EFFECTS = {
    "throttle": "answers `Throttling.User` without running the call",
    "server_error": "answers `ServiceUnavailable` (503) without running the call",
    "latency": "delays the call, then runs it",
    "commit_then_drop": "runs the call, then drops the connection unanswered",
    "drop_before": "drops the connection without running the call",
    "create_failed": "the image CreateImage makes ends `CreateFailed`",
    "error": "answers the given code and HTTP status without running the call",
    "hang": "holds the request unanswered for `latencyMs`, then drops the connection",
    "cancel": "a `commit_then_hold` rule (runs the call, then holds its answer for `latencyMs`); once the call "
              "has run, one SIGINT to `pulumi` (Ctrl-C: the CLI cancels, the engine sends Cancel to the provider "
              "and waits for the steps in flight)",
}
KINDS = {
    "throttle": {"count": 2},
    "server_error": {"count": 2},
    "latency": {"latencyMs": 1500},
    "commit_then_drop": {},
    "drop_before": {},
    "create_failed": {},
    "error": {"code": "InvalidAccessKeyId.NotFound", "httpStatus": 404},
    "hang": {"latencyMs": 3000},
    "cancel": {"latencyMs": 4000},
}
# Rows whose emulator rule is of another kind than the row's name.
RULE_KINDS = {"cancel": "commit_then_hold"}
# Rows whose operation is interrupted by one SIGINT once every rule's call has run; the invariant is checked
# after the next `pulumi up` (create, update) or `pulumi destroy` (delete), which must succeed.
INTERRUPTED = {"cancel"}


def rule_kind(kind):
    return RULE_KINDS.get(kind, kind)

OPS = {
    "create": "`pulumi up` of a new share and a new image",
    "read": "`pulumi refresh`",
    "update": "`pulumi up` with another account (the share is replaced) and another description (the image is "
              "updated in place)",
    "delete": "`pulumi destroy`",
}
RESOURCES = ("share", "image")

# The action each cell's fault is put on.
ACTIONS = {
    ("create", "share"): "ModifyImageSharePermission",
    ("create", "image"): "CreateImage",
    ("read", "share"): "DescribeImageSharePermission",
    ("read", "image"): "DescribeImages",
    ("update", "share"): "ModifyImageSharePermission",
    ("update", "image"): "ModifyImageAttribute",
    ("delete", "share"): "ModifyImageSharePermission",
    ("delete", "image"): "DeleteImages",
}


def applies(kind, op, resource):
    """`create_failed` acts on CreateImage only; an interruption on the changes (create, update, delete);
    every other kind on every action."""
    if kind in INTERRUPTED:
        return op != "read"
    return kind != "create_failed" or ACTIONS[(op, resource)] == "CreateImage"


# kind -> (op, resource) -> {"outcome": "ok" | "error" | "skipped", "consistent": bool, "detail": str}
RESULTS = {}


def dump():
    """RESULTS as JSON, for a pytest-xdist worker to hand to the controller that prints the table."""
    return json.dumps({kind: [[*cell, result] for cell, result in row.items()] for kind, row in RESULTS.items()})


def load(text):
    """Merges what `dump` gave into RESULTS."""
    for kind, cells in json.loads(text).items():
        row = RESULTS.setdefault(kind, {})
        for op, resource, result in cells:
            row[(op, resource)] = result


def complete():
    return all(kind in RESULTS and all(cell in RESULTS[kind] or not applies(kind, *cell) for cell in ACTIONS)
               for kind in KINDS)


def cell_text(kind, cell):
    if not applies(kind, *cell):
        return "n/a"
    result = RESULTS.get(kind, {}).get(cell)
    if result is None:
        return "not run"
    return f"{result['outcome']} {'✓ consistent' if result['consistent'] else '✗ INCONSISTENT'}"


def render():
    header = ["fault"] + [f"{op} {resource}" for op, resource in ACTIONS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for kind in KINDS:
        if kind in RESULTS:
            lines.append("| " + " | ".join([f"`{kind}`"] + [cell_text(kind, cell) for cell in ACTIONS]) + " |")
    return "\n".join(lines)


def document(table):
    rules = "\n".join(f"- `{kind}` ({', '.join(f'`{k}` {v}' for k, v in fields.items()) or 'no options'}): "
                      f"{EFFECTS[kind]}" for kind, fields in KINDS.items())
    columns = "\n".join(f"- {op} {resource}: `{action}`" for (op, resource), action in ACTIONS.items())
    ops = "\n".join(f"- {op}: {text}" for op, text in OPS.items())
    interrupted = ", ".join(f"`{kind}`" for kind in INTERRUPTED)
    return f"""# Fault matrix

Generated by `tests/e2e/run.sh -k fault_matrix` (`test_fault_matrix.py`) and copied here by `make readme-tables`;
do not edit by hand.

Each row injects one fault kind through the emulator's fault rules, one rule on the share's action and one
on the image's action of the column's operation, runs the operation through the `pulumi` CLI (Python
program, both resources in one stack), checks that each rule was applied, clears the rules, and compares
the emulator with `pulumi stack export`: every share and image the emulator holds must be tracked by the
state (same id, name and description), every one the state tracks must exist, and no operation may be
left pending. A cell gives the resource's outcome (`ok`: its step succeeded, `error`: it failed) and
whether that comparison held.

Interruption rows ({interrupted}) start the operation in the background, wait until the emulator has
counted the call of each rule, send one SIGINT to `pulumi` and wait for it to end. Their cells give the
outcome of the interrupted operation; the comparison is made after the next `pulumi up` (create, update) or
`pulumi destroy` (delete), and holds only if that command succeeded.

{table}

Operations:
{ops}

Action carrying the fault, per column:
{columns}

Fault rules (`count` 1 unless given):
{rules}
"""


if __name__ == "__main__":
    publish()
