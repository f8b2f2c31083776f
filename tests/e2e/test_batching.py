"""Batching through the real `pulumi` CLI: shares of one image cost a handful of Alibaba calls, counted by the
emulator, and each resource still gets its own outcome.

How many calls an operation can cost at best depends on how many the engine has in flight at once: with
`--parallel P` it sends at most P creates (reads, deletes) together, and a batch can only gather those. The
CLI's default P is 4 × the CPUs it may run on (pulumi v3.184.0, `defaultParallel`).

The counts do not depend on how fast the engine happens to send its operations: the emulator holds the first call
of each batch until every operation the engine can have in flight has queued in the provider (its batcher logs
each request it queues), so each batch carries all that could gather."""
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


@pytest.mark.parametrize("parallel", [None, 30], ids=["default-parallel", "parallel-30"])
def test_thirty_shares_of_one_image_cost_a_call_per_batch(stack, emulator, parallel):
    accounts = KNOWN[:30]
    stack.configure(shareImageId=IMAGE_1, manyShareAccountIds=",".join(accounts))
    log = BatchLog(stack)
    extra = ("--parallel", str(parallel)) if parallel else ()
    in_flight = min(parallel or default_parallel(), len(accounts))
    # Waves of `in_flight` operations: one walk and ceil(wave / 10) adds per wave, one walk per wave of
    # reads, ceil(wave / 10) removals per wave. One wave more than that is allowed for the first batch, which
    # goes before the engine has started all of its first wave.
    waves = math.ceil(len(accounts) / in_flight)
    calls_per_wave = math.ceil(in_flight / 10)
    run = functools.partial(counted, emulator, stack, log, total=len(accounts), in_flight=in_flight, extra=extra)

    created, batches = run("up", "DescribeImageSharePermission")
    assert sorted(emulator.shared_with(IMAGE_1)) == sorted(accounts)
    walks, adds = share_calls(created)
    assert sum(batches) == len(accounts), batches
    # One walk per batch, then its accounts at 10 per call.
    assert walks == len(batches) and adds == sum(math.ceil(n / 10) for n in batches), (created, batches)
    assert walks <= waves + 1, (created, batches)
    assert adds <= (waves + 1) * calls_per_wave, (created, batches)

    refreshed, batches = run("refresh", "DescribeImageSharePermission")
    assert share_calls(refreshed) == (len(batches), 0), (refreshed, batches)
    assert share_calls(refreshed)[0] <= waves + 1, (refreshed, batches)
    assert len([r for r in stack.resources() if r["type"] == "alicloud:ecs:ImageSharePermission"]) == 30

    destroyed, batches = run("destroy", "ModifyImageSharePermission")
    assert emulator.shared_with(IMAGE_1) == []
    _, removes = share_calls(destroyed)
    assert removes == sum(math.ceil(n / 10) for n in batches), (destroyed, batches)
    assert 0 < removes <= (waves + 1) * calls_per_wave, (destroyed, batches)


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
