"""Batching through the real `pulumi` CLI: shares of one image cost a handful of Alibaba calls, counted by the
emulator, and each resource still gets its own outcome.

How many calls an operation can cost at best depends on how many the engine has in flight at once: with
`--parallel P` it sends at most P creates (reads, deletes) together, and a batch can only gather those. The
CLI's default P is 4 × the CPUs it may run on (pulumi v3.184.0, `defaultParallel`).

The counts do not depend on how fast the engine happens to send its operations: the emulator holds the first call
of each batch until every operation the engine can have in flight has queued in the provider (its batcher logs
each request it queues), so the next batch carries all that gathered behind it."""
import functools
import math
import os
import re
import time

import pytest

from harness import IMAGE_1

pytestmark = pytest.mark.parametrize("runtime", ["python", "typescript"], indirect=True)

# Accounts the emulator's default seed knows (the bench recipients).
KNOWN = [str(3_000_000_000_000_000 + i) for i in range(50)]
UNKNOWN = "9999999999999999"


def default_parallel():
    return 4 * len(os.sched_getaffinity(0))


class BatchLog:
    """The provider's batcher log (PULUMI_ALICLOUD_LOG_FILE, `alicloud_openapi::batch` at debug): each request it
    queues, each batch it sends and each answer, with the number of requests outstanding after it."""

    def __init__(self, stack):
        self.path = stack.dir / "batch.log"
        stack.env.update(PULUMI_ALICLOUD_LOG="alicloud_openapi::batch=debug", PULUMI_ALICLOUD_LOG_FILE=str(self.path))
        self.start = 0

    def text(self):
        return self.path.read_text() if self.path.exists() else ""

    def phase(self):
        """Later questions look only at what is logged from now on (one command's provider)."""
        self.start = len(self.text())

    def values(self, message, field):
        pattern = re.compile(rf"{re.escape(message)}.*\b{field}=(\d+)")
        return [int(m.group(1)) for m in map(pattern.search, self.text()[self.start:].splitlines()) if m]

    def outstanding(self):
        """Requests queued or in a call now."""
        now = self.values("", "outstanding")
        return now[-1] if now else 0

    def answered(self):
        return sum(self.values("batch answered", "members"))

    def batches(self):
        return self.values("batch sent", "members")


def holding(emulator, rule):
    return next(f["holding"] for f in emulator.control("GET", "faults")["faults"] if f["id"] == rule)


def hold_each_batch(emulator, log, action, total, in_flight, running):
    """While `running` runs: holds the first call of `action` of each batch at the emulator until every operation
    the engine can have in flight (`in_flight`, or what is left of `total`) has queued in the provider, then
    releases it. So each batch carries what queued behind the one before, whenever the engine sent it."""
    while running.proc.poll() is None:
        rule = emulator.fault("hold", action)["id"]
        while holding(emulator, rule) == 0:
            if running.proc.poll() is not None:
                return
            time.sleep(0.01)
        # A bound against a provider that never logs, not a timing claim.
        deadline = time.monotonic() + 120
        while log.outstanding() < min(in_flight, total - log.answered()):
            assert time.monotonic() < deadline, f"never {in_flight} in flight: {log.text()[log.start:][-2000:]}"
            if running.proc.poll() is not None:
                break
            time.sleep(0.01)
        emulator.control("POST", "faults/release", {"id": rule})


def counted(emulator, stack, log, command, action, total, in_flight, extra):
    """Runs `pulumi <command>`, every batch held as `hold_each_batch` says; returns the emulator's calls it cost, by
    action, and the batches the provider sent."""
    emulator.control("POST", "calls/reset")
    log.phase()
    running = stack.start(command, "--yes", "--skip-preview", "--non-interactive", *extra)
    try:
        hold_each_batch(emulator, log, action, total, in_flight, running)
    finally:
        emulator.clear_faults()
        done = running.wait()
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    return emulator.calls(), log.batches()


def share_calls(calls):
    return calls.get("DescribeImageSharePermission", 0), calls.get("ModifyImageSharePermission", 0)


def assert_batches_gather_what_is_in_flight(batches, total, in_flight):
    """What holding each batch guarantees, however the engine's operations arrive in time: a batch's first call
    is released only once every operation the engine can have in flight has queued, and the next batch takes
    all that queued behind it. So any two batches in a row carry at least a wave (`in_flight`, or what was
    left), and the whole run costs at most two batches per wave. (Whether the first batch of a wave already
    holds the whole wave depends on how fast the engine starts its operations: that is for `make bench`.)"""
    assert sum(batches) == total, batches
    for k in range(len(batches) - 1):
        left = total - sum(batches[:k])
        assert batches[k] + batches[k + 1] >= min(in_flight, left), (k, batches)
    assert len(batches) <= 2 * math.ceil(total / in_flight), batches


@pytest.mark.parametrize("parallel", [None, 30], ids=["default-parallel", "parallel-30"])
def test_thirty_shares_of_one_image_cost_a_call_per_batch(stack, emulator, parallel):
    accounts = KNOWN[:30]
    stack.configure(shareImageId=IMAGE_1, manyShareAccountIds=",".join(accounts))
    log = BatchLog(stack)
    extra = ("--parallel", str(parallel)) if parallel else ()
    in_flight = min(parallel or default_parallel(), len(accounts))
    gathered = functools.partial(assert_batches_gather_what_is_in_flight, total=len(accounts), in_flight=in_flight)
    run = functools.partial(counted, emulator, stack, log, total=len(accounts), in_flight=in_flight, extra=extra)

    created, batches = run("up", "DescribeImageSharePermission")
    assert sorted(emulator.shared_with(IMAGE_1)) == sorted(accounts)
    walks, adds = share_calls(created)
    gathered(batches)
    # One walk per batch, then its accounts at 10 per call.
    assert walks == len(batches) and adds == sum(math.ceil(n / 10) for n in batches), (created, batches)

    refreshed, batches = run("refresh", "DescribeImageSharePermission")
    gathered(batches)
    assert share_calls(refreshed) == (len(batches), 0), (refreshed, batches)
    assert len([r for r in stack.resources() if r["type"] == "alicloud:ecs:ImageSharePermission"]) == 30

    destroyed, batches = run("destroy", "ModifyImageSharePermission")
    assert emulator.shared_with(IMAGE_1) == []
    gathered(batches)
    _, removes = share_calls(destroyed)
    assert removes == sum(math.ceil(n / 10) for n in batches), (destroyed, batches)


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
