"""Benchmark program: shares each of `imageIds` (comma-separated) with `sharesPerImage` accounts, one
`ImageSharePermission` per account, or with `shareList` one `ImageShareList` per image.

Image k (from 0) is shared with the accounts `accountBase + 1000 * k + i` for i in 0..sharesPerImage.
"""
import pulumi
from pulumi_alicloud_rs import ecs

config = pulumi.Config()
image_ids = [i.strip() for i in config.require("imageIds").split(",") if i.strip()]
per_image = config.require_int("sharesPerImage")
account_base = config.require_int("accountBase")


def accounts(k):
    return [str(account_base + 1000 * k + i) for i in range(per_image)]


# With `shareList`, each image's accounts are one `ImageShareList` instead of one share each.
if config.get_bool("shareList"):
    lists = [ecs.ImageShareList(f"list-{k}", image_id=image_id, account_ids=accounts(k))
             for k, image_id in enumerate(image_ids)]
    pulumi.export("shares", len(lists) * per_image)
else:
    shares = [ecs.ImageSharePermission(f"share-{k}-{i}", image_id=image_id, account_id=account)
              for k, image_id in enumerate(image_ids)
              for i, account in enumerate(accounts(k))]
    pulumi.export("shares", len(shares))
