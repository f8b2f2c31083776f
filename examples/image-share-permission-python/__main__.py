import pulumi
import pulumi_alicloud_rs as alicloud

# Defaults are the local emulator's seed; set imageId/accountId to use your own.
config = pulumi.Config()

share = alicloud.ecs.ImageSharePermission(
    "default",
    image_id=config.get("imageId") or "m-bp1demoimage00000001",
    account_id=config.get("accountId") or "2234567890123456",
)

pulumi.export("shareId", share.id)
