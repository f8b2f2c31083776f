"""The share quota through the real CLI: an image can be shared with at most 50 accounts. 51 shares of one
image in one `up`: 50 are made and tracked, the 51st fails with QuotaExceed.ShareImageUser and an error that
says where the image stands, what the limit is and how to make room."""
import pytest

from harness import ACCOUNT_A, IMAGE_1, assert_consistent

pytestmark = pytest.mark.parametrize("runtime", ["python", "typescript"], indirect=True)

# Accounts the emulator's default seed knows: the 50 bench recipients, and ACCOUNT_A.
KNOWN = [str(3_000_000_000_000_000 + i) for i in range(50)]


def test_the_51st_share_of_an_image_is_refused_saying_how_to_make_room(stack, emulator):
    accounts = [*KNOWN, ACCOUNT_A]
    stack.configure(shareImageId=IMAGE_1, manyShareAccountIds=",".join(accounts))
    failed = stack.up(check=False)
    out = failed.stdout + failed.stderr
    assert failed.returncode != 0, out
    shared = emulator.shared_with(IMAGE_1)
    assert len(shared) == 50 and set(shared) < set(accounts), shared
    [refused] = set(accounts) - set(shared)

    errors = [line for line in out.splitlines() if "QuotaExceed.ShareImageUser" in line]
    assert errors, out
    assert any(f"share-{refused}" in line for line in out.splitlines() if "error" in line), out
    text = "\n".join(errors)
    assert "is shared with 50 accounts" in out, out
    assert "at most 50" in out, out
    assert "pulumi destroy --target" in out, out
    assert IMAGE_1 in text, text

    shares, images = assert_consistent(stack, emulator)
    assert len(shares) == 50 and f"{IMAGE_1}:{refused}" not in shares and images == {}
