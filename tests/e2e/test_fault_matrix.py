"""Fault matrix: every fault kind on every operation of both resources, and afterwards the emulator holds
exactly what the stack's state says. One test per fault kind; both resources live in one stack, and each
operation runs once with one rule on the share's action and one on the image's (see matrix.py). The `cancel`
row interrupts the operation with one SIGINT to `pulumi` once both rules' calls have run, and checks after the
next `up` (or `destroy`), which must succeed."""
import json

import pytest

import matrix
from harness import ACCOUNT_A, ACCOUNT_B, DESKTOP_1, IMAGE_1, assert_consistent

pytestmark = pytest.mark.parametrize("runtime", ["python"], indirect=True)

FIRST = {"shareAccountId": ACCOUNT_A, "imageDescription": "first description"}
SECOND = {"shareAccountId": ACCOUNT_B, "imageDescription": "second description"}
RESOURCE_OF = {"alicloud:ecs:ImageSharePermission": "share", "alicloud:ecd:Image": "image"}


def outcomes(stdout):
    """Per resource, from the engine's JSON events: "error" when its step failed, "ok" when it completed,
    "skipped" when it had no step; and the error messages."""
    failed, done, errors = set(), set(), []
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if "resOpFailedEvent" in event:
            failed.add(event["resOpFailedEvent"]["metadata"]["type"])
        elif "resOutputsEvent" in event:
            done.add(event["resOutputsEvent"]["metadata"]["type"])
        elif event.get("diagnosticEvent", {}).get("severity") == "error":
            diag = event["diagnosticEvent"]
            errors.append(f"{diag.get('urn', '').rsplit('::', 1)[-1]}: {diag['message'].strip()}")
    return ({RESOURCE_OF[t]: "error" if t in failed else "ok" if t in done else "skipped" for t in RESOURCE_OF},
            errors)


def run_operation(stack, op):
    if op == "read":
        return stack.refresh("--json", check=False)
    if op == "delete":
        return stack.destroy("--json", "--continue-on-error", check=False)
    return stack.up("--json", "--continue-on-error", check=False)


def interrupt_operation(stack, emulator, op, cells):
    """Starts the operation in the background, waits until the emulator has counted the call of each cell's
    rule, sends one SIGINT to `pulumi` and waits for it to end."""
    command = "destroy" if op == "delete" else "up"
    emulator.control("POST", "calls/reset")
    running = stack.start(command, "--yes", "--skip-preview", "--non-interactive", "--json", "--continue-on-error")
    for cell in cells:
        emulator.wait_calls(matrix.ACTIONS[cell], 1, running=running)
    running.interrupt()
    return running.wait(timeout=300)


def follow_up(stack, op):
    """What a user runs after an interrupted operation: the same command again, with no fault."""
    command = "destroy" if op == "delete" else "up"
    following = stack.pulumi(command, "--yes", "--skip-preview", "--non-interactive", check=False)
    assert following.returncode == 0, f"the next `pulumi {command}` failed:\n{following.stdout}{following.stderr}"


def converge(stack, emulator):
    """A clean `up` with no fault: both resources exist and are tracked."""
    stack.up()
    shares, images = assert_consistent(stack, emulator)
    assert len(shares) == 1 and len(images) == 1, (shares, images)


@pytest.mark.parametrize("kind", list(matrix.KINDS))
def test_fault_matrix(kind, stack, emulator):
    row = matrix.RESULTS.setdefault(kind, {})
    stack.configure(shareImageId=IMAGE_1, imageDesktopId=DESKTOP_1, imageName=f"matrix-{kind.replace('_', '-')}",
                    **FIRST)
    problems = []
    for op in matrix.OPS:
        if op != "create":
            converge(stack, emulator)
        if op == "update":
            stack.configure(**SECOND)
        cells = [(op, r) for r in matrix.RESOURCES if matrix.applies(kind, op, r)]
        if not cells:
            continue
        rules = {emulator.fault(matrix.rule_kind(kind), matrix.ACTIONS[cell], **matrix.KINDS[kind])["id"]: cell
                 for cell in cells}
        if kind in matrix.INTERRUPTED:
            proc = interrupt_operation(stack, emulator, op, cells)
        else:
            proc = run_operation(stack, op)
        applied = {rule["id"]: rule["used"] for rule in emulator.control("GET", "faults")["faults"]}
        emulator.clear_faults()
        missed = [f"{matrix.ACTIONS[cell]} ({op} {cell[1]})" for rule, cell in rules.items() if not applied.get(rule)]
        assert not missed, f"{kind}: the operation never made the call the fault was put on: {missed}"
        outcome, errors = outcomes(proc.stdout)
        try:
            if kind in matrix.INTERRUPTED:
                follow_up(stack, op)
            assert_consistent(stack, emulator)
            pending = stack.export()["deployment"].get("pending_operations") or []
            assert not pending, f"pending operations left in the state: {pending}"
            consistent, detail = True, ""
        except AssertionError as err:
            consistent, detail = False, str(err)
            problems.append(f"{op} (exit {proc.returncode}; {errors}): {detail}")
        for cell in cells:
            row[cell] = {"outcome": outcome[cell[1]], "consistent": consistent, "detail": detail}
        if not consistent:
            break
    assert not problems, f"{kind}: the emulator and the state disagree after " + "; ".join(problems)
