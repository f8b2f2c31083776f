"""End-to-end program: what it declares comes from stack config, so every scenario shares it."""
import pulumi
from pulumi_alicloud_rs import ecd, ecs

config = pulumi.Config()

if config.get("shareAccountId"):
    share = ecs.ImageSharePermission(
        "share",
        image_id=config.require("shareImageId"),
        account_id=config.require("shareAccountId"),
    )
    pulumi.export("shareId", share.id)

if config.get("imageDesktopId"):
    image = ecd.Image(
        "image",
        desktop_id=config.require("imageDesktopId"),
        image_name=config.get("imageName"),
        description=config.get("imageDescription"),
    )
    pulumi.export("imageId", image.id)
    pulumi.export("imageName", image.image_name)
    pulumi.export("imageStatus", image.status)

if config.get("lookupId"):
    found = ecs.ImageSharePermission.get("found", config.require("lookupId"))
    pulumi.export("foundImageId", found.image_id)
    pulumi.export("foundAccountId", found.account_id)
