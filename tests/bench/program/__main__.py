"""Benchmark program: shares one image with `count` accounts."""
import pulumi
from pulumi_alicloud_rs import ecs

config = pulumi.Config()
count = config.require_int("count")
image_id = config.require("imageId")

shares = [
    ecs.ImageSharePermission(f"share-{i}", image_id=image_id, account_id=str(3_000_000_000_000_000 + i))
    for i in range(count)
]
pulumi.export("shares", len(shares))
