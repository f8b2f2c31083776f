"""One share, from the pulumi-alicloud-rs wheel."""
import pulumi
from pulumi_alicloud_rs import ecs

config = pulumi.Config()
share = ecs.ImageSharePermission(
    "share",
    image_id=config.require("shareImageId"),
    account_id=config.require("shareAccountId"),
)
pulumi.export("shareId", share.id)
