"""Batching through the real `pulumi` CLI: shares of one image cost a handful of Alibaba calls, counted by the
emulator, and each resource still gets its own outcome.

How many calls an operation can cost at best depends on how many the engine has in flight at once: with
`--parallel P` it sends at most P creates (reads, deletes) together, and a batch can only gather those. The
CLI's default P is 4 × the CPUs it may run on (pulumi v3.184.0, `defaultParallel`)."""
import math
import os

import pytest

from harness import IMAGE_1

pytestmark = pytest.mark.parametrize("runtime", ["python", "typescript"], indirect=True)

# Accounts the emulator's default seed knows (the bench recipients).
KNOWN = [str(3_000_000_000_000_000 + i) for i in range(50)]
UNKNOWN = "9999999999999999"


def default_parallel():
    return 4 * len(os.sched_getaffinity(0))


def counted(emulator, run):
    """Runs `run()` and returns the emulator's calls it cost, by action."""
    emulator.control("POST", "calls/reset")
    run()
    return emulator.calls()


def share_calls(calls):
    return calls.get("DescribeImageSharePermission", 0), calls.get("ModifyImageSharePermission", 0)


@pytest.mark.parametrize("parallel", [None, 30], ids=["default-parallel", "parallel-30"])
def test_thirty_shares_of_one_image_cost_a_call_per_batch(stack, emulator, parallel):
    accounts = KNOWN[:30]
    stack.configure(shareImageId=IMAGE_1, manyShareAccountIds=",".join(accounts))
    extra = ("--parallel", str(parallel)) if parallel else ()
    in_flight = min(parallel or default_parallel(), len(accounts))
    # Waves of `in_flight` operations: one walk and ceil(wave / 10) adds per wave, one walk per wave of
    # reads, ceil(wave / 10) removals per wave. One wave more than that is allowed for an engine that
    # starts an operation late.
    waves = math.ceil(len(accounts) / in_flight)
    calls_per_wave = math.ceil(in_flight / 10)

    created = counted(emulator, lambda: stack.up(*extra))
    assert sorted(emulator.shared_with(IMAGE_1)) == sorted(accounts)
    walks, adds = share_calls(created)
    assert walks <= waves + 1, created
    assert adds <= (waves + 1) * calls_per_wave, created

    refreshed = counted(emulator, lambda: stack.refresh(*extra))
    assert share_calls(refreshed)[0] <= waves + 1 and share_calls(refreshed)[1] == 0, refreshed
    assert len([r for r in stack.resources() if r["type"] == "alicloud:ecs:ImageSharePermission"]) == 30

    destroyed = counted(emulator, lambda: stack.destroy(*extra))
    assert emulator.shared_with(IMAGE_1) == []
    _, removes = share_calls(destroyed)
    assert 0 < removes <= (waves + 1) * calls_per_wave, destroyed


def test_an_unknown_account_in_a_batch_fails_alone(stack, emulator):
    good = KNOWN[:5]
    stack.configure(shareImageId=IMAGE_1, manyShareAccountIds=",".join([*good[:2], UNKNOWN, *good[2:]]))
    proc = stack.up(check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "InvalidAccount.NotFound" in out and f"share-{UNKNOWN}" in out, out
    # The others are shared and tracked; the unknown one is neither.
    assert sorted(emulator.shared_with(IMAGE_1)) == sorted(good)
    tracked = sorted(r["id"] for r in stack.resources() if r["type"] == "alicloud:ecs:ImageSharePermission")
    assert tracked == sorted(f"{IMAGE_1}:{a}" for a in good)
