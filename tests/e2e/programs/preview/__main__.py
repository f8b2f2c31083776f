"""Preview checks program: one share of `imageId` per account in `accounts` (comma-separated), named
`share-<account>`; with `listAccounts` (comma-separated), an ImageShareList `list` of `imageId`; and, with
`desktopId`, one ECD image named `imageName`."""
import pulumi
from pulumi_alicloud_rs import ecd, ecs

config = pulumi.Config()

accounts = [a.strip() for a in (config.get("accounts") or "").split(",") if a.strip()]
for account in accounts:
    ecs.ImageSharePermission(f"share-{account}", image_id=config.require("imageId"), account_id=account)

if config.get("listAccounts"):
    ecs.ImageShareList("list", image_id=config.require("imageId"),
                       account_ids=[a.strip() for a in config.require("listAccounts").split(",")])

if config.get("desktopId"):
    image = ecd.Image("image", desktop_id=config.require("desktopId"), image_name=config.get("imageName"))
    pulumi.export("imageId", image.id)
