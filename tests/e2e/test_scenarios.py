"""User scenarios through the real `pulumi` CLI, for each language (the `runtime` fixture)."""
import re

from harness import ACCOUNT_A, ACCOUNT_B, DESKTOP_1, IMAGE_1, IMAGE_2, REGION

MUTATING = {"ModifyImageSharePermission", "CreateImage", "ModifyImageAttribute", "DeleteImages"}


def declare_both(stack, name="golden-image"):
    stack.configure(shareImageId=IMAGE_1, shareAccountId=ACCOUNT_A, imageDesktopId=DESKTOP_1, imageName=name,
                    imageDescription="Golden desktop image")


def test_up_creates_exactly_the_declared_resources(stack, emulator):
    declare_both(stack)
    stack.up()
    out = stack.outputs()
    assert out["shareId"] == f"{IMAGE_1}:{ACCOUNT_A}"
    assert out["imageStatus"] == "Available"
    assert out["imageName"] == "golden-image"
    state = emulator.state()
    assert {i["imageId"]: i["sharedWith"] for i in state["ecsImages"]}[IMAGE_1] == [ACCOUNT_A]
    assert sum(len(i["sharedWith"]) for i in state["ecsImages"]) == 1
    images = state["ecdImages"]
    assert [(i["imageId"], i["name"], i["description"], i["status"], i["desktopId"]) for i in images] == [
        (out["imageId"], "golden-image", "Golden desktop image", "Available", DESKTOP_1)
    ]


def test_second_up_and_preview_change_nothing(stack, emulator):
    declare_both(stack)
    stack.up()
    emulator.control("POST", "calls/reset")
    second = stack.up()
    assert "3 unchanged" in second.stdout, second.stdout
    stack.preview("--expect-no-changes")
    assert not MUTATING & set(emulator.calls()), emulator.calls()


def test_an_unnamed_image_is_autonamed_and_keeps_its_name(stack, emulator):
    stack.configure(imageDesktopId=DESKTOP_1)
    stack.up()
    name = stack.outputs()["imageName"]
    assert re.fullmatch(r"image-[0-9a-f]{7}", name), name
    assert [i["name"] for i in emulator.ecd_images()] == [name]
    emulator.control("POST", "calls/reset")
    stack.preview("--expect-no-changes")
    stack.up()
    assert not MUTATING & set(emulator.calls()), emulator.calls()
    assert stack.outputs()["imageName"] == name


def test_rename_updates_in_place_and_new_account_replaces_the_share(stack, emulator):
    declare_both(stack)
    stack.up()
    image_id = stack.outputs()["imageId"]
    emulator.control("POST", "calls/reset")

    stack.configure(imageName="golden-image-v2")
    preview = stack.preview()
    assert "1 to update" in preview.stdout, preview.stdout
    assert not MUTATING & set(emulator.calls()), "preview must not change anything"
    stack.up()
    assert stack.outputs()["imageId"] == image_id
    assert [i["name"] for i in emulator.ecd_images()] == ["golden-image-v2"]
    assert emulator.calls().get("CreateImage") is None

    stack.configure(shareAccountId=ACCOUNT_B)
    replaced = stack.up()
    assert "1 replaced" in replaced.stdout, replaced.stdout
    assert emulator.shared_with(IMAGE_1) == [ACCOUNT_B]
    assert stack.outputs()["shareId"] == f"{IMAGE_1}:{ACCOUNT_B}"


def test_refresh_drops_what_was_deleted_out_of_band(stack, emulator):
    declare_both(stack)
    stack.up()
    image_id = stack.outputs()["imageId"]
    emulator.control("POST", "ecs/unshare", {"regionId": REGION, "imageId": IMAGE_1, "accountId": ACCOUNT_A})
    emulator.control("POST", "ecd/delete-image", {"regionId": REGION, "imageId": image_id})
    stack.refresh()
    assert stack.resources() == []
    # The program still declares them: the next preview plans to create them again.
    assert "2 to create" in stack.preview().stdout


def test_out_of_band_rename_is_drift_that_up_repairs(stack, emulator):
    declare_both(stack)
    stack.up()
    image_id = stack.outputs()["imageId"]
    emulator.control("POST", "ecd/modify-image", {"regionId": REGION, "imageId": image_id, "name": "renamed-by-hand"})
    refreshed = stack.refresh()
    assert "imageName" in refreshed.stdout, refreshed.stdout
    drift = stack.preview("--expect-no-changes", check=False)
    assert drift.returncode != 0, "drift must show as a change"
    stack.up()
    assert [i["name"] for i in emulator.ecd_images()] == ["golden-image"]
    stack.preview("--expect-no-changes")


def test_import_of_existing_share_and_image_is_diff_free(stack, emulator):
    emulator.control("POST", "ecs/share", {"regionId": REGION, "imageId": IMAGE_2, "accountId": ACCOUNT_A})
    image_id = emulator.control("POST", "ecd/create-image", {"regionId": REGION, "desktopId": DESKTOP_1,
                                                             "name": "existing-image", "description": "Made by hand"})["imageId"]
    stack.pulumi("import", "alicloud:ecs:ImageSharePermission", "share", f"{IMAGE_2}:{ACCOUNT_A}", "--yes", "--non-interactive")
    stack.pulumi("import", "alicloud:ecd:Image", "image", image_id, "--yes", "--non-interactive")
    assert len(stack.resources()) == 2
    stack.configure(shareImageId=IMAGE_2, shareAccountId=ACCOUNT_A, imageDesktopId=DESKTOP_1,
                    imageName="existing-image", imageDescription="Made by hand")
    stack.preview("--expect-no-changes")
    stack.up()
    assert emulator.shared_with(IMAGE_2) == [ACCOUNT_A]
    assert [i["imageId"] for i in emulator.ecd_images()] == [image_id]


def test_get_reads_an_existing_share_and_fails_clearly_on_a_missing_one(stack, emulator):
    emulator.control("POST", "ecs/share", {"regionId": REGION, "imageId": IMAGE_2, "accountId": ACCOUNT_B})
    stack.configure(lookupId=f"{IMAGE_2}:{ACCOUNT_B}")
    stack.up()
    out = stack.outputs()
    assert (out["foundImageId"], out["foundAccountId"]) == (IMAGE_2, ACCOUNT_B)
    emulator.control("POST", "ecs/unshare", {"regionId": REGION, "imageId": IMAGE_2, "accountId": ACCOUNT_B})

    missing = f"{IMAGE_1}:{ACCOUNT_B}"
    stack.configure(lookupId=missing)
    failed = stack.up(check=False)
    assert failed.returncode != 0
    assert missing in failed.stdout + failed.stderr, failed.stdout + failed.stderr


def test_create_failed_image_reports_a_clear_error_and_leaves_nothing(stack, emulator):
    declare_both(stack)
    emulator.control("POST", "faults", {"kind": "create_failed", "count": 1})
    failed = stack.up(check=False)
    assert failed.returncode != 0
    assert "CreateFailed" in failed.stdout + failed.stderr, failed.stdout + failed.stderr
    assert emulator.ecd_images() == []


def test_throttling_storm_is_ridden_out_by_retries(stack, emulator):
    declare_both(stack)
    emulator.control("POST", "faults", {"kind": "throttle", "count": 6})
    stack.up()
    # Every throttled call was refused and tried again: all six refusals were answered, on whichever calls.
    rules = emulator.control("GET", "faults")["faults"]
    assert sum(rule["used"] for rule in rules) == 6, rules
    calls = emulator.calls()
    # At least one successful call per step besides the six refused ones: the share's check and add, the
    # image's name check, create and poll.
    assert sum(calls.values()) >= 6 + 5, calls
    assert emulator.shared_with(IMAGE_1) == [ACCOUNT_A]
    assert len(emulator.ecd_images()) == 1


def test_destroy_leaves_exactly_the_seed(stack, emulator, seed):
    declare_both(stack)
    stack.up()
    assert emulator.state() != seed
    stack.destroy()
    assert emulator.state() == seed
    assert stack.resources() == []
