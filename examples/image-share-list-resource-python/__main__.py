import pulumi
import pulumi_alicloud_rs as alicloud

# Owns the whole share list of a custom ECS image: after `pulumi up` it is shared with exactly these
# accounts. Defaults are the local emulator's seed; set imageId/accountIds (comma-separated) to use your own.
config = pulumi.Config()

shares = alicloud.ecs.ImageShareList(
    "default",
    image_id=config.get("imageId") or "m-bp1demoimage00000002",
    account_ids=(config.get("accountIds") or "2234567890123456,3234567890123456").split(","),
)

pulumi.export("sharedWith", shares.account_ids)
