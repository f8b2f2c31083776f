"""The official Alibaba Cloud Python SDKs, unmodified, against the emulator: every action the provider uses,
with both signature schemes, and the errors a real client must get. If our wire shapes or signature checks
drifted from Alibaba's, these calls would fail."""

import pytest
from alibabacloud_ecd20200930 import models as ecd
from alibabacloud_ecs20140526 import models as ecs
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException
from alibabacloud_tea_openapi.utils_models import OpenApiRequest, Params
from darabonba.runtime import RuntimeOptions

from conftest import (
    DESKTOP,
    EXPIRED_STS,
    IMAGE,
    KEY,
    OTHER,
    OTHER_KEY,
    OTHER_OWNERS_IMAGE,
    OWNER,
    RECIPIENT,
    REGION,
    STS,
)

# Accounts no seed knows; the `recipients` fixture makes them exist.
ACCOUNTS = [f"4{n:015d}" for n in range(1, 61)]
UNKNOWN = "4999999999999999"


@pytest.fixture
def recipients(emulator):
    added = emulator.control("accounts", {"accountIds": ACCOUNTS})["added"]
    assert added == ACCOUNTS
    return ACCOUNTS


def modify(client, add=None, remove=None, image=IMAGE):
    return client.modify_image_share_permission(
        ecs.ModifyImageSharePermissionRequest(
            region_id=REGION, image_id=image, add_account=add, remove_account=remove
        )
    )


def describe(client, page=None, size=None, image=IMAGE):
    return client.describe_image_share_permission(
        ecs.DescribeImageSharePermissionRequest(
            region_id=REGION, image_id=image, page_number=page, page_size=size
        )
    ).body


def error_of(call):
    with pytest.raises((ClientException, ServerException)) as caught:
        call()
    return caught.value


def assert_error(call, status, code):
    err = error_of(call)
    assert (err.status_code, err.code) == (status, code), err.message
    envelope = err.data
    for field in ("RequestId", "HostId", "Code", "Message", "Recommend"):
        assert envelope.get(field), f"{field} missing from {envelope}"
    return err


def assert_signed_with(emulator, signature):
    by_signature = emulator.calls()["bySignature"]
    assert set(by_signature) == {signature}, by_signature


# --- ECS ---------------------------------------------------------------------------------------------


def test_share_describe_and_unshare(emulator, signature):
    client = emulator.client("ecs", signature)
    response = modify(client, add=[OTHER])
    assert response.status_code == 200 and response.body.request_id
    assert emulator.shares() == [OTHER]

    body = describe(client)
    assert (body.image_id, body.region_id, body.total_count) == (IMAGE, REGION, 1)
    assert [a.aliyun_id for a in body.accounts.account] == [OTHER]
    assert body.accounts.account[0].shared_time.endswith("Z")
    assert (body.page_number, body.page_size) == (1, 10)

    modify(client, remove=[OTHER])
    assert emulator.shares() == []
    assert describe(client).total_count == 0
    assert_signed_with(emulator, signature)


def test_describe_pages_through_every_share(emulator, signature, recipients):
    client = emulator.client("ecs", signature)
    for chunk in (ACCOUNTS[0:10], ACCOUNTS[10:20], ACCOUNTS[20:23]):
        modify(client, add=chunk)
    pages = [describe(client, page=n, size=10) for n in (1, 2, 3, 4)]
    assert [p.total_count for p in pages] == [23] * 4
    assert [len(p.accounts.account) for p in pages] == [10, 10, 3, 0]
    listed = [a.aliyun_id for p in pages for a in p.accounts.account]
    assert listed == ACCOUNTS[:23]
    big = describe(client, size=100)
    assert len(big.accounts.account) == 23
    assert_error(lambda: describe(client, size=101), 400, "InvalidParameter")


def test_one_call_takes_at_most_ten_accounts(emulator, signature, recipients):
    modify(emulator.client("ecs", signature), add=ACCOUNTS[:12])
    assert emulator.shares() == ACCOUNTS[:10]


def test_an_image_is_shared_with_at_most_fifty_accounts(emulator, signature, recipients):
    client = emulator.client("ecs", signature)
    for start in range(0, 50, 10):
        modify(client, add=ACCOUNTS[start : start + 10])
    assert len(emulator.shares()) == 50
    assert_error(lambda: modify(client, add=[ACCOUNTS[50]]), 403, "QuotaExceed.ShareImageUser")
    assert len(emulator.shares()) == 50
    # Swapping one account for another within the same call stays within the quota.
    modify(client, add=[ACCOUNTS[50]], remove=[ACCOUNTS[0]])
    assert emulator.shares() == ACCOUNTS[1:51]


def test_adding_an_existing_account_and_removing_an_absent_one_succeed(emulator, signature, recipients):
    client = emulator.client("ecs", signature)
    modify(client, add=[OTHER])
    modify(client, add=[OTHER])
    modify(client, remove=[ACCOUNTS[0]])
    assert emulator.shares() == [OTHER]


def test_share_errors(emulator, signature):
    client = emulator.client("ecs", signature)
    assert_error(lambda: modify(client, add=[OWNER]), 404, "InvalidAccount.Forbbiden")
    assert_error(lambda: modify(client, add=["not-an-account"]), 400, "InvalidAccount.Malformed")
    assert_error(lambda: modify(client, add=[OTHER], image="m-bp1missing0000000001"), 404, "InvalidImageId.NotFound")
    # Another account's image is as invisible as a missing one.
    assert_error(lambda: modify(client, add=[OTHER], image=OTHER_OWNERS_IMAGE), 404, "InvalidImageId.NotFound")
    assert_error(lambda: describe(client, image="m-bp1missing0000000001"), 404, "InvalidImageId.NotFound")
    assert_error(
        lambda: client.describe_image_share_permission(
            ecs.DescribeImageSharePermissionRequest(region_id="cn-nowhere", image_id=IMAGE)
        ),
        404,
        "InvalidRegionId.NotFound",
    )
    assert_error(
        lambda: client.describe_image_share_permission(ecs.DescribeImageSharePermissionRequest(region_id=REGION)),
        400,
        "MissingParameter",
    )
    assert all(i["sharedWith"] == [] for i in emulator.state()["ecsImages"])


def test_an_account_that_does_not_exist_fails_the_whole_call(emulator, signature):
    client = emulator.client("ecs", signature)
    modify(client, add=[OTHER])
    for add, remove in (([RECIPIENT, UNKNOWN], [OTHER]), ([], [UNKNOWN])):
        err = assert_error(lambda: modify(client, add=add, remove=remove), 404, "InvalidAccount.NotFound")
        assert UNKNOWN in err.data["Message"]
    assert emulator.shares() == [OTHER]
    emulator.control("accounts", {"accountIds": [UNKNOWN]})
    modify(client, add=[RECIPIENT, UNKNOWN], remove=[OTHER])
    assert emulator.shares() == [RECIPIENT, UNKNOWN]


# --- ECD ---------------------------------------------------------------------------------------------


def create_image(client, name="golden-image", description="made by the SDK cross-check", desktop=DESKTOP):
    return client.create_image(
        ecd.CreateImageRequest(region_id=REGION, desktop_id=desktop, image_name=name, description=description)
    ).body.image_id


def describe_images(client, ids=None, status=None, max_results=None, token=None):
    return client.describe_images(
        ecd.DescribeImagesRequest(
            region_id=REGION, image_id=ids, image_status=status, max_results=max_results, next_token=token
        )
    ).body


def status_of(client, image_id):
    return describe_images(client, ids=[image_id]).images[0].status


def test_image_lifecycle(emulator, signature):
    client = emulator.client("ecd", signature)
    # Held images stay Creating until released: no waiting on a clock.
    emulator.control("config", {"holdImages": True})
    image_id = create_image(client)
    assert image_id.startswith("m-")
    first = describe_images(client, ids=[image_id]).images
    assert [(i.image_id, i.name, i.description, i.status) for i in first] == [
        (image_id, "golden-image", "made by the SDK cross-check", "Creating")
    ]
    assert_error(
        lambda: client.delete_images(ecd.DeleteImagesRequest(region_id=REGION, image_id=[image_id])),
        400,
        "IncorrectImageStatus",
    )
    assert status_of(client, image_id) == "Creating"
    assert emulator.control("ecd/release-images", {"imageId": image_id})["released"] == [image_id]
    image = describe_images(client, ids=[image_id]).images[0]
    assert (image.status, image.image_type) == ("Available", "CUSTOM")
    assert [i.image_id for i in describe_images(client, status="Available").images] == [image_id]

    client.modify_image_attribute(
        ecd.ModifyImageAttributeRequest(region_id=REGION, image_id=image_id, name="renamed", description="new words")
    )
    renamed = describe_images(client, ids=[image_id]).images[0]
    assert (renamed.name, renamed.description) == ("renamed", "new words")
    assert [(i["name"], i["status"]) for i in emulator.state()["ecdImages"]] == [("renamed", "Available")]

    client.delete_images(ecd.DeleteImagesRequest(region_id=REGION, image_id=[image_id]))
    assert describe_images(client, ids=[image_id]).images == []
    assert emulator.state()["ecdImages"] == []
    assert_signed_with(emulator, signature)


def test_describe_images_pages_with_next_token(emulator, signature):
    client = emulator.client("ecd", signature)
    made = {create_image(client, name=f"image-{n}") for n in range(5)}
    seen, token, sizes = [], None, []
    while True:
        body = describe_images(client, max_results=2, token=token)
        sizes.append(len(body.images))
        seen += [i.image_id for i in body.images]
        token = body.next_token
        if not token:
            break
    assert sizes == [2, 2, 1]
    assert set(seen) == made and len(seen) == 5


def test_describe_desktops(emulator, signature):
    client = emulator.client("ecd", signature)

    def describe_desktops(ids=None, max_results=None):
        return client.describe_desktops(
            ecd.DescribeDesktopsRequest(region_id=REGION, desktop_id=ids, max_results=max_results)
        ).body

    found = describe_desktops(ids=[DESKTOP])
    assert [(d.desktop_id, d.desktop_status) for d in found.desktops] == [(DESKTOP, "Running")]
    assert found.total_count == 1
    assert describe_desktops(ids=["ecd-missingdesktop0001"]).desktops == []
    first = describe_desktops(max_results=1)
    assert (len(first.desktops), first.total_count, bool(first.next_token)) == (1, 2, True)
    assert_signed_with(emulator, signature)


def test_image_errors(emulator, signature):
    client = emulator.client("ecd", signature)
    assert_error(lambda: create_image(client, desktop="ecd-missingdesktop01"), 404, "InvalidDesktopId.NotFound")
    assert_error(lambda: create_image(client, name="1starts-with-a-digit"), 400, "InvalidParameter.ImageName")
    assert_error(lambda: create_image(client, name="golden.v1"), 400, "InvalidParameter.ImageName")
    assert_error(lambda: create_image(client, description="https://not.allowed"), 400, "InvalidParameter.Description")
    assert_error(
        lambda: client.modify_image_attribute(
            ecd.ModifyImageAttributeRequest(region_id=REGION, image_id="m-missingimage0000001", name="renamed")
        ),
        404,
        "InvalidImageId.NotFound",
    )
    assert_error(
        lambda: client.delete_images(ecd.DeleteImagesRequest(region_id=REGION, image_id=["m-missingimage0000001"])),
        404,
        "InvalidImageId.NotFound",
    )
    assert_error(lambda: client.create_image(ecd.CreateImageRequest(region_id=REGION)), 400, "MissingParameter")
    assert describe_images(client, ids=["m-missingimage0000001"]).images == []
    assert emulator.state()["ecdImages"] == []


def test_image_names(emulator, signature):
    client = emulator.client("ecd", signature)
    image_id = create_image(client, name="镜像-1")
    for good in ("Golden_image:v1-2", "ab"):
        create_image(client, name=good)
    for bad in ("renamed.v2", "镜像-2"):
        assert_error(
            lambda: client.modify_image_attribute(
                ecd.ModifyImageAttributeRequest(region_id=REGION, image_id=image_id, name=bad)
            ),
            400,
            "InvalidParameter.Name",
        )
    assert sorted(i["name"] for i in emulator.state()["ecdImages"]) == sorted(["镜像-1", "Golden_image:v1-2", "ab"])


def test_create_failed_fault(emulator):
    client = emulator.client("ecd")
    emulator.control("config", {"holdImages": True})
    emulator.fault(kind="create_failed", action="CreateImage")
    image_id = create_image(client)
    assert status_of(client, image_id) == "Creating"
    emulator.control("ecd/release-images", {})
    assert status_of(client, image_id) == "CreateFailed"
    client.delete_images(ecd.DeleteImagesRequest(region_id=REGION, image_id=[image_id]))
    assert emulator.state()["ecdImages"] == []


# --- Authentication and routing ------------------------------------------------------------------------


def test_wrong_secret_is_rejected(emulator, signature):
    client = emulator.client("ecs", signature, key=(KEY[0], "not-the-secret"))
    err = assert_error(lambda: modify(client, add=[OTHER]), 400, "SignatureDoesNotMatch")
    assert "string to sign" in err.data["Message"]
    assert emulator.shares() == []


def test_unknown_key_is_rejected(emulator, signature):
    client = emulator.client("ecs", signature, key=("LTAI5tNoSuchKey000000", "whatever"))
    assert_error(lambda: describe(client), 404, "InvalidAccessKeyId.NotFound")


def test_sts_credentials(emulator, signature):
    modify(emulator.client("ecs", signature, key=STS), add=[OTHER])
    assert emulator.shares() == [OTHER]
    wrong_token = (STS[0], STS[1], "some-other-token")
    assert_error(
        lambda: describe(emulator.client("ecs", signature, key=wrong_token)),
        400,
        "InvalidSecurityToken.MismatchWithAccessKey",
    )
    assert_error(
        lambda: describe(emulator.client("ecs", signature, key=EXPIRED_STS)), 400, "InvalidSecurityToken.Expired"
    )
    # The temporary key without its token.
    assert_error(lambda: describe(emulator.client("ecs", signature, key=STS[:2])), 400, "MissingSecurityToken")


def test_each_account_sees_only_its_own_images(emulator):
    other = emulator.client("ecs", key=OTHER_KEY)
    modify(other, add=[OWNER], image=OTHER_OWNERS_IMAGE)
    assert emulator.shares(OTHER_OWNERS_IMAGE) == [OWNER]
    assert_error(lambda: describe(other), 404, "InvalidImageId.NotFound")


def generic_call(client, action, version):
    params = Params(
        action=action,
        version=version,
        protocol="HTTP",
        pathname="/",
        method="POST",
        auth_type="AK",
        style="RPC",
        req_body_type="formData",
        body_type="json",
    )
    request = OpenApiRequest(query={"RegionId": REGION, "ImageId": IMAGE})
    return client.call_api(params, request, RuntimeOptions())


def test_version_and_action_are_checked(emulator, signature):
    client = emulator.client("ecs", signature)
    assert generic_call(client, "DescribeImageSharePermission", "2014-05-26")["body"]["ImageId"] == IMAGE
    assert_error(lambda: generic_call(client, "DescribeImageSharePermission", "2014-05-25"), 400, "InvalidVersion")
    # ECD's version does not carry ECS actions.
    assert_error(lambda: generic_call(client, "DescribeImageSharePermission", "2020-09-30"), 404, "InvalidAction.NotFound")
    assert_error(lambda: generic_call(client, "DescribeNothing", "2014-05-26"), 404, "InvalidAction.NotFound")


def test_throttling_and_server_error_faults(emulator, signature):
    client = emulator.client("ecs", signature)
    emulator.fault(kind="throttle", action="ModifyImageSharePermission", count=2)
    for _ in range(2):
        assert_error(lambda: modify(client, add=[OTHER]), 400, "Throttling.User")
    assert emulator.shares() == []
    emulator.fault(kind="server_error", count=1)
    assert_error(lambda: describe(client), 503, "ServiceUnavailable")
    modify(client, add=[OTHER])
    assert emulator.shares() == [OTHER]
    assert emulator.calls()["byAction"]["ModifyImageSharePermission"] == 3
    assert [(r["kind"], r["count"], r["used"]) for r in emulator.control("faults")["faults"]] == [
        ("throttle", 0, 2),
        ("server_error", 0, 1),
    ]


def test_error_fault(emulator, signature):
    client = emulator.client("ecs", signature)
    emulator.fault(kind="error", action="ModifyImageSharePermission", code="InvalidAccessKeyId.NotFound", httpStatus=404)
    assert_error(lambda: modify(client, add=[OTHER]), 404, "InvalidAccessKeyId.NotFound")
    assert emulator.shares() == []
