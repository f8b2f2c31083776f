import pulumi
import pulumi_alicloud_rs as alicloud

# Looks up an existing share by its id, <imageId>:<accountId>.
config = pulumi.Config()

existing = alicloud.ecs.ImageSharePermission.get(
    "existing",
    config.get("shareId") or "m-bp1demoimage00000003:2234567890123456",
)

pulumi.export("imageId", existing.image_id)
pulumi.export("accountId", existing.account_id)
