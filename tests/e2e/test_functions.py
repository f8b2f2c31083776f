"""The lookup functions, `alicloud:ecs:getImageSharePermissions` and `alicloud:ecd:getImages`, called by the
e2e program in each language: what they return is what the emulator holds (shares and images made out of
band, not by the stack), they answer in `pulumi preview` as well as in `pulumi up`, they change nothing, and
bad arguments or an unknown image fail with an error that says what is wrong."""
import re

import pytest

from harness import ACCOUNT_A, ACCOUNT_B, DESKTOP_1, IMAGE_1, IMAGE_2, REGION

# The actions that change something; a lookup never calls them.
MUTATING = ("ModifyImageSharePermission", "CreateImage", "DeleteImages", "ModifyImageAttribute")
UNKNOWN_IMAGE = "m-bp1nosuchimage000001"


class OutOfBand:
    """Shares and ECD images made through the emulator's control API, removed again at the end of the test."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.shares = []
        self.images = []

    def share(self, image_id, account_id):
        self.emulator.control("POST", "ecs/share", {"regionId": REGION, "imageId": image_id, "accountId": account_id})
        self.shares.append((image_id, account_id))

    def unshare(self, image_id, account_id):
        self.emulator.control("POST", "ecs/unshare", {"regionId": REGION, "imageId": image_id, "accountId": account_id})
        self.shares.remove((image_id, account_id))

    def image(self, name, description=None):
        body = {"regionId": REGION, "desktopId": DESKTOP_1, "name": name, **({"description": description} if description else {})}
        image_id = self.emulator.control("POST", "ecd/create-image", body)["imageId"]
        self.images.append(image_id)
        return image_id

    def remove_all(self):
        for image_id, account_id in list(self.shares):
            self.unshare(image_id, account_id)
        for image_id in self.images:
            self.emulator.control("POST", "ecd/delete-image", {"regionId": REGION, "imageId": image_id})
        self.images = []


@pytest.fixture
def oob(stack, emulator):
    made = OutOfBand(emulator)
    yield made
    # Before the stack fixture checks that the emulator is back at its seed.
    made.remove_all()


def listed(outputs):
    """The `listedImages` output as {imageId: (name, description, status)}, absent fields as None."""
    return {i["imageId"]: (i.get("imageName") or None, i.get("description") or None, i["status"])
            for i in outputs["listedImages"]}


def in_emulator(emulator, select=lambda image: True):
    return {i["imageId"]: (i.get("name") or None, i.get("description") or None, i["status"])
            for i in emulator.ecd_images() if select(i)}


def no_mutation(emulator):
    calls = emulator.calls()
    assert not {a: calls[a] for a in MUTATING if calls.get(a)}, f"a lookup changed something: {calls}"
    return calls


def test_lookups_return_what_the_cloud_holds(stack, emulator, oob):
    oob.share(IMAGE_1, ACCOUNT_B)
    oob.share(IMAGE_1, ACCOUNT_A)
    golden_a = oob.image("golden-a", "first golden image")
    golden_b = oob.image("golden-b")
    other = oob.image("other-x", "not golden")
    stack.configure(lookupImageId=IMAGE_1, listImagesRegex="^golden-")
    emulator.control("POST", "calls/reset")

    # Preview calls the functions too, and shows what they found.
    preview = stack.preview()
    for value in (ACCOUNT_A, ACCOUNT_B, golden_a, golden_b, "first golden image"):
        assert value in preview.stdout, (value, preview.stdout)
    assert other not in preview.stdout, preview.stdout
    calls = no_mutation(emulator)
    assert calls.get("DescribeImageSharePermission", 0) >= 1 and calls.get("DescribeImages", 0) >= 1, calls

    stack.up()
    outputs = stack.outputs()
    assert outputs["lookupImageId"] == IMAGE_1
    # In the order the accounts were added.
    assert outputs["lookupAccountIds"] == emulator.shared_with(IMAGE_1) == [ACCOUNT_B, ACCOUNT_A]
    assert listed(outputs) == in_emulator(emulator, lambda i: i["name"].startswith("golden-")), outputs
    assert set(listed(outputs)) == {golden_a, golden_b}
    no_mutation(emulator)
    assert stack.resources() == [], "a lookup left something in the state"

    # Every run reads afresh: what changed out of band shows on the next update.
    oob.unshare(IMAGE_1, ACCOUNT_B)
    golden_c = oob.image("golden-c", "made later")
    stack.up()
    outputs = stack.outputs()
    assert outputs["lookupAccountIds"] == [ACCOUNT_A]
    assert set(listed(outputs)) == {golden_a, golden_b, golden_c}
    no_mutation(emulator)


def test_filters_combine_and_every_page_is_read(stack, emulator, oob):
    # More images than one DescribeImages page (100) holds.
    bulk = [oob.image(f"bulk-{n:03}", f"bulk image {n}") for n in range(105)]
    oob.image("golden-a")
    stack.configure(listImagesRegex="^bulk-", lookupImageId=IMAGE_2)
    emulator.control("POST", "calls/reset")
    stack.up()
    outputs = stack.outputs()
    assert listed(outputs) == in_emulator(emulator, lambda i: i["name"].startswith("bulk-"))
    assert len(outputs["listedImages"]) == 105
    assert emulator.call_count("DescribeImages") >= 2, emulator.calls()
    # An image shared with nobody: an empty list, not an error.
    assert outputs["lookupAccountIds"] == []

    # Filters combine: ids and status and name.
    stack.configure(listImageIds=None, listImagesRegex="^bulk-00[0-4]$", listImagesStatus="Available",
                    lookupImageId=None)
    stack.pulumi("config", "set", "--path", "listImageIds[0]", bulk[0])
    stack.pulumi("config", "set", "--path", "listImageIds[1]", bulk[7])
    stack.pulumi("config", "set", "--path", "listImageIds[2]", bulk[104])
    stack.up()
    assert set(listed(stack.outputs())) == {bulk[0]}
    stack.configure(listImagesStatus="CreateFailed")
    stack.up()
    assert stack.outputs()["listedImages"] == []
    no_mutation(emulator)


def failure_text(result):
    return result.stdout + result.stderr


def test_an_unknown_image_is_an_error_naming_it(stack, emulator):
    stack.configure(lookupImageId=UNKNOWN_IMAGE)
    for command in (stack.preview, stack.up):
        result = command(check=False)
        assert result.returncode != 0, result.stdout
        text = failure_text(result)
        assert re.search(rf"image {UNKNOWN_IMAGE} does not exist in region {REGION}", text), text
    assert stack.resources() == []
    no_mutation(emulator)


@pytest.mark.parametrize("config, expected", [
    ({"listImagesRegex": "golden-("}, [r"'nameRegex' is not a valid regular expression", r"golden-\("]),
    ({"listImagesStatus": "Ready"}, [r"'status' must be one of Creating, Available, CreateFailed", "Ready"]),
    ({"lookupImageId": "img-123"}, [r"'imageId' must be an ID such as m-bp1g7004ksh0oeuc6ps1", "img-123"]),
], ids=["regex", "status", "image-id"])
def test_invalid_arguments_are_clear_errors(stack, emulator, config, expected):
    stack.configure(**config)
    emulator.control("POST", "calls/reset")
    result = stack.preview(check=False)
    assert result.returncode != 0, result.stdout
    text = failure_text(result)
    for pattern in expected:
        assert re.search(pattern, text), (pattern, text)
    # Refused before anything was asked of the cloud.
    calls = emulator.calls()
    assert not any(calls.get(a) for a in ("DescribeImages", "DescribeImageSharePermission")), calls
