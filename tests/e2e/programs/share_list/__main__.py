"""End-to-end program of the share list: what it declares comes from stack config."""
import pulumi
from pulumi_alicloud_rs import ecs

config = pulumi.Config()
# `listAccountIds`: comma-separated, in any order.
accounts = [a.strip() for a in (config.get("listAccountIds") or "").split(",") if a.strip()]

shares = ecs.ImageShareList(
    "shares",
    image_id=config.require("listImageId"),
    account_ids=accounts,
    is_public=config.get_bool("listIsPublic"),
    keep_on_delete=config.get_bool("listKeepOnDelete"),
)
pulumi.export("accountIds", shares.account_ids)
pulumi.export("isPublic", shares.is_public)
pulumi.export("region", shares.region)

# `alsoShareAccountId`: one more share of the same image through ImageSharePermission (a mistake the
# provider warns about).
if config.get("alsoShareAccountId"):
    ecs.ImageSharePermission("also", image_id=config.require("listImageId"),
                             account_id=config.require("alsoShareAccountId"))
