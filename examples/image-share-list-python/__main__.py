import pulumi
import pulumi_alicloud_rs as alicloud

# Lists every account a custom ECS image is shared with.
config = pulumi.Config()

shares = alicloud.ecs.get_image_share_permissions_output(
    image_id=config.get("imageId") or "m-bp1demoimage00000003",
)

pulumi.export("imageId", shares.image_id)
pulumi.export("accountIds", shares.account_ids)
