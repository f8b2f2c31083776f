"""Ctrl-C through the real CLI, from Python and TypeScript programs: one SIGINT to `pulumi up` while a change is
on the wire, after the emulator has applied it and while its answer is held back (a `commit_then_hold` rule).
The CLI cancels (the engine sends Cancel to the provider and waits for the steps in flight); whatever the
interrupted `up` recorded, the next `up` succeeds, takes what was made as the stack's own, and afterwards the
emulator holds exactly what the state says. Waits are on the emulator's call counters and state."""
import pytest

from harness import ACCOUNT_A, DESKTOP_1, IMAGE_1, Emulator, Stack, assert_consistent

pytestmark = pytest.mark.parametrize("runtime", ["python", "typescript"], indirect=True)


def output(proc):
    return proc.stdout + proc.stderr


@pytest.fixture(params=["answer-after-4s", "answer-never"])
def held(request, runtime, tmp_path):
    """(stack, emulator, the hold rule's fields). `answer-after-4s`: the answer comes 4 s after the change, on
    the session's emulator. `answer-never`: it never comes (the connection is held until the emulator stops),
    so the emulator is one of this test's own."""
    if request.param == "answer-after-4s":
        yield request.getfixturevalue("stack"), request.getfixturevalue("emulator"), {"latencyMs": 4000}
        return
    emulator = Emulator(create_seconds=1.0)
    try:
        seed = emulator.state()
        stack = Stack(runtime, emulator, tmp_path)
        yield stack, emulator, {}
        emulator.clear_faults()
        stack.destroy()
        assert emulator.state() == seed, "the emulator holds resources the stack did not clean up"
    finally:
        emulator.stop()


def interrupt_once(stack, emulator, action, made, what):
    """Starts `pulumi up`; once `action` has been called and `made()` holds (the change is applied, its
    answer held), sends one SIGINT to the CLI and waits for it to end. Returns the finished command."""
    emulator.control("POST", "calls/reset")
    running = stack.start("up", "--yes", "--skip-preview", "--non-interactive")
    emulator.wait_calls(action, 1, running=running)
    emulator.wait_until(what, made, running=running)
    assert running.proc.poll() is None, "the up ended while the answer was held"
    running.interrupt()
    done = running.wait(timeout=300)
    assert "^C received; cancelling" in done.stdout, output(done)
    return done


def test_ctrl_c_while_a_share_is_added_leaves_it_the_stacks_own(held):
    stack, emulator, hold = held
    share_id = f"{IMAGE_1}:{ACCOUNT_A}"
    stack.configure(shareImageId=IMAGE_1, shareAccountId=ACCOUNT_A)
    emulator.fault("commit_then_hold", "ModifyImageSharePermission", **hold)
    interrupted = interrupt_once(stack, emulator, "ModifyImageSharePermission",
                                 lambda: share_id in emulator.shares(), "the share exists")
    emulator.clear_faults()

    after = stack.up(check=False)
    for proc in (interrupted, after):
        assert "not by this stack" not in output(proc), output(proc)
    assert after.returncode == 0, output(after)
    assert emulator.shares() == {share_id}
    assert assert_consistent(stack, emulator) == ({share_id}, {})
    assert not stack.export()["deployment"].get("pending_operations")
    assert stack.outputs()["shareId"] == share_id


def test_ctrl_c_while_a_named_image_is_created_leaves_one_tracked_image(held):
    stack, emulator, hold = held
    name = "interrupted-image"
    stack.configure(imageDesktopId=DESKTOP_1, imageName=name, imageDescription="Made before the Ctrl-C")
    emulator.fault("commit_then_hold", "CreateImage", **hold)
    interrupted = interrupt_once(stack, emulator, "CreateImage",
                                 lambda: [i["name"] for i in emulator.ecd_images()] == [name], "the image exists")
    emulator.clear_faults()
    [made] = emulator.ecd_images()

    after = stack.up(check=False)
    for proc in (interrupted, after):
        assert "already exists" not in output(proc), output(proc)
    assert after.returncode == 0, output(after)
    assert [(i["imageId"], i["status"]) for i in emulator.ecd_images()] == [(made["imageId"], "Available")], \
        "the next up made a second image or left it unfinished"
    shares, images = assert_consistent(stack, emulator)
    assert shares == set() and list(images) == [made["imageId"]], images
    [tracked] = stack.resources()
    assert tracked["outputs"]["status"] == "Available" and not tracked.get("initErrors"), tracked
    assert not stack.export()["deployment"].get("pending_operations")
    assert stack.outputs()["imageId"] == made["imageId"]
