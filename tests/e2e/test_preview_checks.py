"""`pulumi preview` fails for what `pulumi up` would refuse, through the real CLI: a share of an image that does
not exist or is another account's, the 51st account of an image counting what is shared already and what the
preview would add (an ImageShareList's accounts in place of what it would remove), an ECD image of a desktop that does not exist or with a name in use. Each failure names
the resource, the value and the fix; the preview makes only read-only calls, one walk per image, and changes
nothing."""
import pytest

from harness import ACCOUNT_B, DESKTOP_1, IMAGE_1, MAIN_FILE, PROGRAMS, REGION, Stack, program_from

pytestmark = pytest.mark.parametrize("runtime", ["python", "typescript"], indirect=True)

MUTATING = ("ModifyImageSharePermission", "CreateImage", "ModifyImageAttribute", "DeleteImages")
# Accounts of the emulator's default seed: 3000000000000000 + i, i < 50.
SEEDED = [str(3_000_000_000_000_000 + i) for i in range(50)]


@pytest.fixture
def stack(runtime, emulator, seed, tmp_path):
    """A stack of the preview checks program, destroyed at the end; nothing may remain in the cloud."""
    code = (PROGRAMS / "preview" / MAIN_FILE[runtime.language]).read_text()
    s = Stack(runtime, emulator, tmp_path, source=program_from(runtime.language, code, tmp_path))
    yield s
    s.destroy()
    assert emulator.state() == seed, "the emulator holds resources the stack did not clean up"


def failed_preview(stack, emulator):
    """Runs `pulumi preview`, which must fail without changing anything; returns its output."""
    before = emulator.state()
    emulator.control("POST", "calls/reset")
    result = stack.preview(check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert emulator.state() == before, "the preview changed the cloud"
    made = {a: n for a, n in emulator.calls().items() if a in MUTATING}
    assert made == {}, f"the preview called {made}"
    assert stack.resources() == [], "the preview wrote resources to the state"
    return out


def planned_creates(out, token):
    """How many resources of type `token` a preview's output plans to create."""
    return sum(1 for line in out.splitlines() if token in line and line.rstrip().endswith("create"))


def assert_says(out, *parts):
    for part in parts:
        assert part in out, f"{part!r} missing from:\n{out}"


def test_a_share_of_a_missing_image_or_of_another_accounts_image_fails_the_preview(stack, emulator):
    for image in ("m-bp1doesnotexist0001", "m-bp1otherimage0000001"):
        stack.configure(imageId=image, accounts=ACCOUNT_B)
        out = failed_preview(stack, emulator)
        assert_says(out, f"share-{ACCOUNT_B}", f"imageId {image}", REGION, "belongs to another account",
                    "InvalidImageId.NotFound", "Check imageId")
        assert emulator.calls().get("DescribeImageSharePermission") == 1, emulator.calls()


def test_the_51st_account_counts_existing_and_planned_shares(stack, emulator):
    existing = SEEDED[:45]
    for account in existing:
        emulator.control("POST", "ecs/share", {"regionId": REGION, "imageId": IMAGE_1, "accountId": account})
    try:
        # 45 shared + 5 planned = 50: the preview passes, with one walk of the image's shares.
        planned = [*SEEDED[45:], ACCOUNT_B]
        stack.configure(imageId=IMAGE_1, accounts=",".join(planned[:5]))
        emulator.control("POST", "calls/reset")
        passed = stack.preview()
        assert planned_creates(passed.stdout, "alicloud:ecs:ImageSharePermission") == 5, passed.stdout
        assert emulator.calls() == {"DescribeImageSharePermission": 1}, emulator.calls()

        # One more planned account is the 51st.
        stack.configure(accounts=",".join(planned))
        out = failed_preview(stack, emulator)
        assert_says(out, IMAGE_1, "limit of 50 accounts", "shared with 45 accounts now", "add 6 more (51 in all",
                    "QuotaExceed.ShareImageUser", "remove shares of it")
        assert any(f"share-{a}" in line for a in planned for line in out.splitlines() if "51 in all" in line), out
        assert emulator.calls().get("DescribeImageSharePermission") == 1, emulator.calls()
        assert emulator.shared_with(IMAGE_1) == existing
    finally:
        for account in existing:
            emulator.control("POST", "ecs/unshare", {"regionId": REGION, "imageId": IMAGE_1, "accountId": account})


def test_an_ecd_image_of_a_missing_desktop_or_with_a_name_in_use_fails_the_preview(stack, emulator):
    stack.configure(desktopId="ecd-doesnotexist00001", imageName="golden")
    out = failed_preview(stack, emulator)
    assert_says(out, "alicloud:ecd:Image \"image\"", "desktopId ecd-doesnotexist00001", REGION,
                "InvalidDesktopId.NotFound", "Check desktopId")
    assert emulator.calls().get("DescribeDesktops") == 1, emulator.calls()

    emulator.control("POST", "ecd/create-image", {"regionId": REGION, "desktopId": DESKTOP_1, "name": "golden"})
    [outside] = [i["imageId"] for i in emulator.ecd_images()]
    try:
        stack.configure(desktopId=DESKTOP_1)
        out = failed_preview(stack, emulator)
        assert_says(out, "imageName \"golden\"", outside, "Choose another imageName",
                    f"pulumi import alicloud:ecd:Image image {outside}")
    finally:
        emulator.control("POST", "ecd/delete-image", {"regionId": REGION, "imageId": outside})

    # With the name free, the preview passes.
    emulator.control("POST", "calls/reset")
    passed = stack.preview()
    assert planned_creates(passed.stdout, "alicloud:ecd:Image") == 1, passed.stdout
    assert set(emulator.calls()) == {"DescribeDesktops", "DescribeImages"}, emulator.calls()


def test_a_share_list_warns_of_what_it_would_remove_and_counts_with_the_single_shares(stack, emulator):
    outside = SEEDED[:3]
    for account in outside:
        emulator.control("POST", "ecs/share", {"regionId": REGION, "imageId": IMAGE_1, "accountId": account})
    try:
        # The list keeps one share made outside the stack and adds 46: 47 accounts after `up`, the other two
        # removed, which the preview says.
        listed = [outside[0], *SEEDED[3:49]]
        stack.configure(imageId=IMAGE_1, listAccounts=",".join(listed))
        emulator.control("POST", "calls/reset")
        passed = stack.preview()
        out = passed.stdout + passed.stderr
        assert_says(out, "would unshare image", IMAGE_1, f"{outside[1]}, {outside[2]}", "import the list first")
        assert emulator.calls() == {"DescribeImageSharePermission": 1}, emulator.calls()

        # Four single shares of the same image besides the list's 47 make 51.
        stack.configure(accounts=",".join([ACCOUNT_B, *SEEDED[49:50], *[f"5{i:015}" for i in range(2)]]))
        out = failed_preview(stack, emulator)
        assert_says(out, IMAGE_1, "51 accounts", "QuotaExceed.ShareImageUser")
        assert ("make 51 accounts" in out) or ("an ImageShareList of this preview sets" in out), out
        assert emulator.calls().get("DescribeImageSharePermission") == 1, emulator.calls()
        assert emulator.shared_with(IMAGE_1) == outside
    finally:
        for account in outside:
            emulator.control("POST", "ecs/unshare", {"regionId": REGION, "imageId": IMAGE_1, "accountId": account})
