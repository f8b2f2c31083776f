"""Benchmark program: shares each of `imageIds` (comma-separated) with `sharesPerImage` accounts.

Image k (from 0) is shared with the accounts `accountBase + 1000 * k + i` for i in 0..sharesPerImage.
"""
import pulumi
from pulumi_alicloud_rs import ecs

config = pulumi.Config()
image_ids = [i.strip() for i in config.require("imageIds").split(",") if i.strip()]
per_image = config.require_int("sharesPerImage")
account_base = config.require_int("accountBase")

shares = [
    ecs.ImageSharePermission(f"share-{k}-{i}", image_id=image_id, account_id=str(account_base + 1000 * k + i))
    for k, image_id in enumerate(image_ids)
    for i in range(per_image)
]
pulumi.export("shares", len(shares))
