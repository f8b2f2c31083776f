"""ImageShareList through the real CLI, in Python and TypeScript: the calls of create, update, refresh and
destroy read from the emulator's call log; a share made outside shown by refresh and `preview --refresh` and
removed by `up`; isPublic on and off; keepOnDelete; import by image id; a partial failure recorded; and the
warning when one stack manages an image both ways."""
import json

import pytest

from harness import ACCOUNT_A, IMAGE_1, MAIN_FILE, PROGRAMS, REGION, program_from

pytestmark = pytest.mark.parametrize("runtime", ["python", "typescript"], indirect=True)

LIST_TYPE = "alicloud:ecs:ImageShareList"
DESCRIBE, MODIFY = "DescribeImageSharePermission", "ModifyImageSharePermission"


def recipients(n, start=0):
    """Seeded recipient accounts 3000000000000000…49."""
    return [f"30000000000000{i:02d}" for i in range(start, start + n)]


def use_list_program(stack):
    code = (PROGRAMS / "share_list" / MAIN_FILE[stack.runtime.language]).read_text()
    stack.use_program(program_from(stack.runtime.language, code, stack.dir))


def declare(stack, accounts, public=None, keep=None):
    stack.configure(listImageId=IMAGE_1, listAccountIds=",".join(accounts),
                    listIsPublic=None if public is None else str(public).lower(),
                    listKeepOnDelete=None if keep is None else str(keep).lower())


def calls_of(emulator, command):
    """Runs `command()` and returns its result and the share calls it made."""
    emulator.control("POST", "calls/reset")
    out = command()
    calls = emulator.calls()
    return out, (calls.get(DESCRIBE, 0), calls.get(MODIFY, 0))


def the_list(stack):
    return next(r for r in stack.resources(show_secrets=True) if r["type"] == LIST_TYPE)


def output(proc):
    return proc.stdout + proc.stderr


def test_create_update_refresh_destroy_cost_what_they_promise(stack, emulator):
    use_list_program(stack)
    first = recipients(25)
    declare(stack, list(reversed(first)))
    _, calls = calls_of(emulator, lambda: stack.up())
    assert calls == (1, 3), "create: one walk and ⌈25/10⌉ modify calls"
    assert sorted(emulator.shared_with(IMAGE_1)) == first
    assert stack.outputs()["accountIds"] == first
    assert stack.outputs()["region"] == REGION

    # The same set in another order is no change.
    declare(stack, first)
    stack.preview("--expect-no-changes")

    # Five out, five in: one walk and one call that carries both.
    second = recipients(25, start=5)
    declare(stack, second)
    _, calls = calls_of(emulator, lambda: stack.up())
    assert calls == (1, 1)
    assert sorted(emulator.shared_with(IMAGE_1)) == second

    # Refresh: one walk.
    _, calls = calls_of(emulator, lambda: stack.refresh())
    assert calls == (1, 0)

    # Destroy: ⌈25/10⌉ removals, no walk.
    _, calls = calls_of(emulator, lambda: stack.destroy())
    assert calls == (0, 3)
    assert emulator.shared_with(IMAGE_1) == []


def test_a_share_made_outside_is_drift_and_up_removes_it(stack, emulator):
    use_list_program(stack)
    declared = recipients(3)
    declare(stack, declared)
    stack.up()
    emulator.control("POST", "ecs/share", {"regionId": REGION, "imageId": IMAGE_1, "accountId": ACCOUNT_A})

    # Preview with a refresh shows the outside share as a change of accountIds.
    preview = stack.preview("--refresh", "--diff")
    assert ACCOUNT_A in preview.stdout and "accountIds" in preview.stdout, preview.stdout
    # Refresh records it, with a warning that names it; the state now says what the cloud holds.
    refreshed = stack.refresh()
    assert "did not declare" in output(refreshed) and ACCOUNT_A in output(refreshed), output(refreshed)
    assert ACCOUNT_A in the_list(stack)["outputs"]["accountIds"]
    # Up makes the list what the program declares.
    _, calls = calls_of(emulator, lambda: stack.up())
    assert calls == (1, 1)
    assert sorted(emulator.shared_with(IMAGE_1)) == declared
    stack.preview("--refresh", "--expect-no-changes")


def test_is_public_publishes_and_unpublishes(stack, emulator):
    def public():
        return next(i for i in emulator.state()["ecsImages"] if i["imageId"] == IMAGE_1)["isPublic"]

    use_list_program(stack)
    declare(stack, [], public=True)
    _, calls = calls_of(emulator, lambda: stack.up())
    assert calls == (1, 1)
    assert public() is True and stack.outputs()["isPublic"] is True
    stack.preview("--refresh", "--expect-no-changes")

    # Back to private, with one account: the unpublish goes first, then the share.
    declare(stack, [ACCOUNT_A], public=False)
    _, calls = calls_of(emulator, lambda: stack.up())
    assert calls == (1, 2)
    assert public() is False and emulator.shared_with(IMAGE_1) == [ACCOUNT_A]

    # A community image with accounts is refused at preview, naming the property.
    declare(stack, [ACCOUNT_A], public=True)
    refused = stack.preview(check=False)
    assert refused.returncode != 0 and "isPublic" in output(refused), output(refused)
    declare(stack, [ACCOUNT_A], public=False)


def test_keep_on_delete_leaves_the_shares(stack, emulator):
    use_list_program(stack)
    kept = recipients(4)
    declare(stack, kept, keep=True)
    stack.up()
    _, calls = calls_of(emulator, lambda: stack.destroy())
    assert calls == (0, 0)
    assert sorted(emulator.shared_with(IMAGE_1)) == kept
    # The stack is gone; the shares are not: remove them by hand for the fixture's final check.
    for account in kept:
        emulator.control("POST", "ecs/unshare", {"regionId": REGION, "imageId": IMAGE_1, "accountId": account})


def test_import_by_image_id_writes_a_program_that_previews_with_no_changes(stack, emulator):
    for account in (ACCOUNT_A, *recipients(2)):
        emulator.control("POST", "ecs/share", {"regionId": REGION, "imageId": IMAGE_1, "accountId": account})
    out = stack.dir / f"generated-{MAIN_FILE[stack.runtime.language]}"
    stack.pulumi("import", LIST_TYPE, "shares", IMAGE_1, "--out", out, "--yes", "--non-interactive",
                 "--protect=false")
    code = out.read_text()
    for account in (ACCOUNT_A, *recipients(2)):
        assert account in code, code
    stack.use_program(program_from(stack.runtime.language, code, stack.dir))
    emulator.control("POST", "calls/reset")
    stack.preview("--expect-no-changes")
    assert MODIFY not in emulator.calls()
    assert the_list(stack)["outputs"]["isPublic"] is False


def test_a_partial_failure_is_recorded_and_the_next_up_finishes(stack, emulator):
    use_list_program(stack)
    accounts = recipients(25)
    declare(stack, accounts)
    # The first modify call is held a moment, and every call after it is refused.
    emulator.fault("latency", MODIFY, latencyMs=2000)
    running = stack.start("up", "--yes", "--skip-preview", "--non-interactive")
    emulator.wait_calls(MODIFY, 1, running=running)
    emulator.fault("error", MODIFY, count=10, code="Forbidden.RAM", httpStatus=403,
                   message="User not authorized to operate on the specified resource.")
    failed = running.wait()
    assert failed.returncode != 0, output(failed)
    assert "Forbidden.RAM" in output(failed), output(failed)
    # The first ten accounts were shared, and the state says so.
    recorded = the_list(stack)
    assert recorded["id"] == IMAGE_1
    assert recorded["outputs"]["accountIds"] == accounts[:10]
    assert sorted(emulator.shared_with(IMAGE_1)) == accounts[:10]

    emulator.clear_faults()
    _, calls = calls_of(emulator, lambda: stack.up())
    assert calls == (1, 2), "the rest: one walk and ⌈15/10⌉ calls"
    assert sorted(emulator.shared_with(IMAGE_1)) == accounts


def test_one_image_managed_both_ways_is_warned_about(stack, emulator):
    use_list_program(stack)
    declare(stack, recipients(2))
    stack.configure(alsoShareAccountId=ACCOUNT_A)
    preview = stack.preview()
    text = output(preview)
    assert "managed both" in text and "ImageSharePermission" in text, text
    assert emulator.shared_with(IMAGE_1) == []
