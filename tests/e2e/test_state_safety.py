"""State safety through the real `pulumi` CLI, from Python and TypeScript programs: whatever fails (refused
credentials, unreachable endpoints, timeouts, lost answers, a killed CLI, invalid input), the emulator
afterwards holds exactly what the stack's state says, secrets stay secret, and the next run recovers.
Waits are on the emulator's call counters and held images, never on the clock."""
import json
import re
import socket
import time

import pytest

from harness import (ACCESS_KEY, ACCOUNT_A, ACCOUNT_B, DESKTOP_1, IMAGE_1, IMAGE_TYPE, REGION, SECRET_KEY, SECRET_SIG,
                     SHARE_TYPE, assert_consistent)

pytestmark = pytest.mark.parametrize("runtime", ["python", "typescript"], indirect=True)

MUTATING = {"ModifyImageSharePermission", "CreateImage", "ModifyImageAttribute", "DeleteImages"}
SECRET_MARK = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN_KEY = "LTAI5tUnknownEmulatorKey"


def declare_both(stack, name="safe-image", description="Golden desktop image", account=ACCOUNT_A):
    stack.configure(shareImageId=IMAGE_1, shareAccountId=account, imageDesktopId=DESKTOP_1, imageName=name,
                    imageDescription=description)


def output(proc):
    return proc.stdout + proc.stderr


def snapshot(stack):
    """The tracked resources as `pulumi stack export` lists them: URN -> (id, inputs, outputs)."""
    return {r["urn"]: (r["id"], r.get("inputs"), r.get("outputs")) for r in stack.resources()}


def by_type(stack, show_secrets=False):
    resources = stack.resources(show_secrets)
    assert len({r["type"] for r in resources}) == len(resources), resources
    return {r["type"]: r for r in resources}


# Row 1 -------------------------------------------------------------------------------------------------------

def test_environment_credentials_and_refused_calls_leave_state_and_cloud_alone(stack, emulator):
    stack.use_environment_credentials(ACCESS_KEY, SECRET_KEY)
    declare_both(stack)
    stack.up()
    tracked = snapshot(stack)
    assert {r[0] for r in tracked.values()} == {f"{IMAGE_1}:{ACCOUNT_A}", stack.outputs()["imageId"]}
    world = emulator.state()

    stack.set_environment_credentials(UNKNOWN_KEY, SECRET_KEY)
    refreshed = stack.refresh(check=False)
    assert refreshed.returncode != 0, output(refreshed)
    assert "InvalidAccessKeyId.NotFound" in output(refreshed), output(refreshed)
    assert snapshot(stack) == tracked, "a refused refresh must not change the state"

    destroyed = stack.destroy(check=False)
    assert destroyed.returncode != 0, output(destroyed)
    assert "InvalidAccessKeyId.NotFound" in output(destroyed), output(destroyed)
    assert snapshot(stack) == tracked, "a refused destroy must not drop anything from the state"
    assert emulator.state() == world

    # An unknown region: every read is refused with InvalidRegionId.NotFound (404, the not-found status).
    stack.set_environment_credentials(ACCESS_KEY, SECRET_KEY)
    for action in ("DescribeImageSharePermission", "DescribeImages"):
        emulator.fault("error", action, code="InvalidRegionId.NotFound", httpStatus=404, count=50)
    refreshed = stack.refresh(check=False)
    emulator.clear_faults()
    assert refreshed.returncode != 0, output(refreshed)
    assert "InvalidRegionId.NotFound" in output(refreshed), output(refreshed)
    assert snapshot(stack) == tracked, "a refresh refused for the region must not drop resources"
    assert emulator.state() == world

    stack.destroy()
    assert stack.resources() == []
    assert emulator.shares() == set() and emulator.ecd_images() == []


# Row 2 -------------------------------------------------------------------------------------------------------

def assert_secret(value, where):
    assert isinstance(value, dict) and value.get(SECRET_SIG) == SECRET_MARK and value.get("ciphertext"), \
        f"{where} is not a secret: {value!r}"


def assert_kept_secret(stack, description, *gone):
    exported = stack.export()
    resources = {r["type"]: r for r in exported["deployment"]["resources"]}
    for section in ("inputs", "outputs"):
        assert_secret(resources[SHARE_TYPE][section]["accountId"], f"share {section}.accountId")
        assert_secret(resources[IMAGE_TYPE][section]["description"], f"image {section}.description")
    text = json.dumps(exported)
    # The share's id is `<imageId>:<accountId>`, so the id (and the stack output made of it) necessarily
    # contains the account: that is the one place it may appear in clear.
    text = text.replace(f"{IMAGE_1}:{ACCOUNT_A}", "<share id>")
    for plain in (ACCOUNT_A, description, *gone):
        assert plain not in text, f"{plain!r} appears in clear in the exported state"


def test_secret_inputs_stay_secret_through_up_refresh_and_update(stack, emulator):
    first, second = "Confidential build one", "Confidential build two"
    stack.configure(secretInputs="true")
    declare_both(stack, description=first)
    up = stack.up()
    assert first not in output(up)
    assert_kept_secret(stack, first)

    refreshed = stack.refresh()
    assert first not in output(refreshed)
    assert_kept_secret(stack, first)

    stack.configure(imageDescription=second)
    updated = stack.up()
    assert first not in output(updated) and second not in output(updated)
    assert_kept_secret(stack, second, first)
    assert [i["description"] for i in emulator.ecd_images()] == [second]
    assert_consistent(stack, emulator)


def test_a_check_failure_on_a_secret_does_not_print_it(stack, emulator):
    leak = "https://leak.example/secret-xyz"
    stack.configure(secretInputs="true")
    declare_both(stack, description=leak)
    emulator.control("POST", "calls/reset")
    failed = stack.preview(check=False)
    assert failed.returncode != 0, output(failed)
    assert "description" in output(failed), output(failed)
    assert "secret-xyz" not in output(failed) and "leak.example" not in output(failed), output(failed)
    assert not MUTATING & set(emulator.calls()), emulator.calls()


# Row 3 -------------------------------------------------------------------------------------------------------

def test_an_existing_share_is_refused_with_the_import_command_that_adopts_it(stack, emulator):
    share_id = f"{IMAGE_1}:{ACCOUNT_B}"
    emulator.control("POST", "ecs/share", {"regionId": REGION, "imageId": IMAGE_1, "accountId": ACCOUNT_B})
    stack.configure(shareImageId=IMAGE_1, shareAccountId=ACCOUNT_B)
    failed = stack.up(check=False)
    assert failed.returncode != 0, output(failed)
    assert "pulumi import alicloud:ecs:ImageSharePermission" in output(failed), output(failed)
    assert share_id in output(failed), output(failed)
    assert emulator.shares() == {share_id}, "the existing share must be left alone"
    assert stack.resources() == [], "a share the stack did not make must not be tracked"

    command = re.search(r"pulumi import (alicloud:ecs:ImageSharePermission) ([\w.-]+) (m-[0-9a-z]+:\d+)",
                        output(failed))
    assert command, output(failed)
    assert command.group(3) == share_id
    stack.pulumi("import", *command.groups(), "--yes", "--non-interactive")
    assert [r["id"] for r in stack.resources()] == [share_id]
    emulator.control("POST", "calls/reset")
    stack.preview("--expect-no-changes")
    stack.up("--expect-no-changes")
    assert not MUTATING & set(emulator.calls()), emulator.calls()
    assert emulator.shares() == {share_id}
    assert_consistent(stack, emulator)


def test_our_own_share_whose_answer_was_lost_is_kept_once(stack, emulator):
    emulator.fault("commit_then_drop", "ModifyImageSharePermission")
    stack.configure(shareImageId=IMAGE_1, shareAccountId=ACCOUNT_B)
    stack.up()
    assert emulator.shared_with(IMAGE_1) == [ACCOUNT_B]
    assert emulator.shares() == {f"{IMAGE_1}:{ACCOUNT_B}"}
    assert stack.outputs()["shareId"] == f"{IMAGE_1}:{ACCOUNT_B}"
    assert_consistent(stack, emulator)


# Row 4 -------------------------------------------------------------------------------------------------------

def test_an_unreachable_endpoint_fails_fast_and_names_it(stack, emulator):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Closed: nothing listens on the port now, so every connection is refused.
    stack.pulumi("config", "set", "--path", "alicloud:endpoints.ecs", f"http://127.0.0.1:{port}")
    stack.configure(shareImageId=IMAGE_1, shareAccountId=ACCOUNT_A)
    started = time.monotonic()
    failed = stack.up(check=False, timeout=300)
    elapsed = time.monotonic() - started
    assert failed.returncode != 0, output(failed)
    assert elapsed < 60, f"took {elapsed:.1f}s to give up on a closed port"
    assert f"127.0.0.1:{port}" in output(failed), output(failed)
    assert emulator.shares() == set()
    assert stack.resources() == []


# Row 5 -------------------------------------------------------------------------------------------------------

def start_up(stack):
    return stack.start("up", "--yes", "--skip-preview", "--non-interactive")


def test_an_image_create_timeout_keeps_the_image_and_the_next_up_waits_for_it(stack, emulator):
    emulator.hold_images()
    stack.configure(imageDesktopId=DESKTOP_1, imageName="held-image", imageCreateTimeout="2s")
    failed = stack.up(check=False)
    assert failed.returncode != 0, output(failed)
    [image] = stack.resources()
    assert image["outputs"]["status"] == "Creating", image
    assert image.get("initErrors"), f"the engine must record the failed create: {image}"
    assert [(i["imageId"], i["status"]) for i in emulator.ecd_images()] == [(image["id"], "Creating")]

    stack.configure(imageCreateTimeout=None)
    polls = emulator.call_count("DescribeImages")
    resumed = start_up(stack)
    emulator.wait_calls("DescribeImages", polls + 2, running=resumed)
    assert resumed.proc.poll() is None, "the up must wait while the image is still Creating"
    assert emulator.release_images() == [image["id"]]
    done = resumed.wait()
    assert done.returncode == 0, output(done)
    assert stack.outputs()["imageStatus"] == "Available"
    [after] = stack.resources()
    assert after["id"] == image["id"] and after["outputs"]["status"] == "Available"
    assert not after.get("initErrors"), after
    assert [(i["imageId"], i["status"]) for i in emulator.ecd_images()] == [(image["id"], "Available")]
    assert_consistent(stack, emulator)


def test_an_image_that_ends_create_failed_is_reported_and_replaced(stack, emulator):
    emulator.hold_images()
    emulator.fault("create_failed", "CreateImage")
    stack.configure(imageDesktopId=DESKTOP_1, imageName="doomed-image", imageCreateTimeout="2s")
    failed = stack.up(check=False)
    assert failed.returncode != 0, output(failed)
    [image] = stack.resources()
    failed_id = image["id"]
    assert image["outputs"]["status"] == "Creating", image
    assert emulator.release_images() == [failed_id]
    emulator.hold_images(False)
    assert [(i["imageId"], i["status"]) for i in emulator.ecd_images()] == [(failed_id, "CreateFailed")]

    refreshed = stack.refresh(check=False)
    assert "CreateFailed" in output(refreshed), output(refreshed)
    # A failed refresh, or at least an error (not a warning) about the image: it is of no use as it is.
    assert refreshed.returncode != 0 or re.search(r"error: .*CreateFailed", output(refreshed)), output(refreshed)
    assert [r["id"] for r in stack.resources()] == [failed_id], "the failed image is still tracked"

    stack.configure(imageCreateTimeout=None)
    replaced = stack.up()
    assert "replaced" in replaced.stdout, replaced.stdout
    [fresh] = emulator.ecd_images()
    assert fresh["imageId"] != failed_id and fresh["status"] == "Available", fresh
    [tracked] = stack.resources()
    assert tracked["id"] == fresh["imageId"] and tracked["outputs"]["status"] == "Available", tracked
    assert stack.outputs()["imageStatus"] == "Available"
    assert_consistent(stack, emulator)


# Row 6 -------------------------------------------------------------------------------------------------------

def test_a_killed_up_leaves_one_image_that_the_next_up_takes_over(stack, emulator):
    emulator.hold_images()
    stack.configure(imageDesktopId=DESKTOP_1)  # no imageName: the provider names it
    emulator.control("POST", "calls/reset")
    killed = start_up(stack)
    emulator.wait_calls("CreateImage", 1, running=killed)
    # A DescribeImages after CreateImage: the provider has the create's answer and polls the image.
    emulator.wait_calls("DescribeImages", emulator.call_count("DescribeImages") + 1, running=killed)
    processes = killed.kill()
    assert len(processes) >= 3, f"expected the CLI, its language host and the provider: {processes}"
    [made] = emulator.ecd_images()
    assert made["status"] == "Creating"
    pending = stack.export()["deployment"].get("pending_operations") or []
    assert [p["resource"]["urn"].rsplit("::", 1)[-1] for p in pending if p["type"] == "creating"] == ["image"], \
        pending

    stack.pulumi("cancel", "--yes")
    assert emulator.release_images() == [made["imageId"]]
    stack.up()
    assert [i["imageId"] for i in emulator.ecd_images()] == [made["imageId"]], "the next up made a second image"
    [tracked] = stack.resources()
    assert tracked["id"] == made["imageId"], tracked
    assert tracked["outputs"]["imageName"] == made["name"]
    assert_consistent(stack, emulator)

    stack.refresh("--clear-pending-creates")
    assert not stack.export()["deployment"].get("pending_operations")
    stack.destroy()
    assert stack.resources() == []
    assert emulator.ecd_images() == []


# Row 7 -------------------------------------------------------------------------------------------------------

def test_an_invalid_image_name_fails_before_any_call(stack, emulator):
    stack.configure(imageDesktopId=DESKTOP_1, imageName="my.image")
    emulator.control("POST", "calls/reset")
    failed = stack.preview(check=False)
    assert failed.returncode != 0, output(failed)
    assert "imageName" in output(failed), output(failed)
    assert re.search(r"[`'\"]\.[`'\"]|period|\bdots?\b", output(failed)), output(failed)
    failed = stack.up(check=False)
    assert failed.returncode != 0, output(failed)
    assert not MUTATING & set(emulator.calls()), emulator.calls()
    assert emulator.ecd_images() == []
    assert stack.resources() == []
