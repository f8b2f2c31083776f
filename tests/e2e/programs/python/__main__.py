"""End-to-end program: what it declares comes from stack config, so every scenario shares it."""
import pulumi
from pulumi_alicloud_rs import ecd, ecs

config = pulumi.Config()
# With `secretInputs`, the account and the description are passed as secrets.
secret_inputs = config.get_bool("secretInputs") or False


def maybe_secret(value):
    return pulumi.Output.secret(value) if secret_inputs and value is not None else value


if config.get("shareAccountId"):
    share = ecs.ImageSharePermission(
        "share",
        image_id=config.require("shareImageId"),
        account_id=maybe_secret(config.require("shareAccountId")),
    )
    pulumi.export("shareId", share.id)

if config.get("imageDesktopId"):
    create_timeout = config.get("imageCreateTimeout")
    image = ecd.Image(
        "image",
        desktop_id=config.require("imageDesktopId"),
        image_name=config.get("imageName"),
        description=maybe_secret(config.get("imageDescription")),
        opts=pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create=create_timeout))
        if create_timeout else None,
    )
    pulumi.export("imageId", image.id)
    pulumi.export("imageName", image.image_name)
    pulumi.export("imageStatus", image.status)

if config.get("lookupId"):
    found = ecs.ImageSharePermission.get("found", config.require("lookupId"))
    pulumi.export("foundImageId", found.image_id)
    pulumi.export("foundAccountId", found.account_id)
