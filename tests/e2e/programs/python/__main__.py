"""End-to-end program: what it declares comes from stack config, so every scenario shares it."""
import pulumi
import pulumi_alicloud_rs
from pulumi_alicloud_rs import ecd, ecs

config = pulumi.Config()
# With `secretInputs`, the account and the description are passed as secrets.
secret_inputs = config.get_bool("secretInputs") or False


def maybe_secret(value):
    return pulumi.Output.secret(value) if secret_inputs and value is not None else value


# With `explicitProvider`, the share and the image use a provider of that name, set up from the stack's
# `alicloud:` region and keys and `explicitProviderEndpoint`, instead of the default provider.
provider = None
if config.get("explicitProvider"):
    settings = pulumi.Config("alicloud")
    endpoint = config.require("explicitProviderEndpoint")
    provider = pulumi_alicloud_rs.Provider(
        config.require("explicitProvider"),
        region=settings.require("region"),
        access_key=settings.require("accessKey"),
        secret_key=settings.require_secret("secretKey"),
        endpoints={"ecs": endpoint, "ecd": endpoint},
    )


if config.get("shareAccountId"):
    share = ecs.ImageSharePermission(
        "share",
        image_id=config.require("shareImageId"),
        account_id=maybe_secret(config.require("shareAccountId")),
        opts=pulumi.ResourceOptions(provider=provider),
    )
    pulumi.export("shareId", share.id)

# `manyShareAccountIds` (comma-separated): one more share of `shareImageId` per account, `share-<account>`.
many_accounts = [a.strip() for a in (config.get("manyShareAccountIds") or "").split(",") if a.strip()]
for many_account in many_accounts:
    ecs.ImageSharePermission(
        f"share-{many_account}",
        image_id=config.require("shareImageId"),
        account_id=many_account,
        opts=pulumi.ResourceOptions(provider=provider),
    )
if many_accounts:
    pulumi.export("manyShares", len(many_accounts))

if config.get("imageDesktopId"):
    create_timeout = config.get("imageCreateTimeout")
    image = ecd.Image(
        "image",
        desktop_id=config.require("imageDesktopId"),
        image_name=config.get("imageName"),
        description=maybe_secret(config.get("imageDescription")),
        opts=pulumi.ResourceOptions(
            provider=provider,
            custom_timeouts=pulumi.CustomTimeouts(create=create_timeout) if create_timeout else None,
        ),
    )
    pulumi.export("imageId", image.id)
    pulumi.export("imageName", image.image_name)
    pulumi.export("imageStatus", image.status)

# `newImageName`: one more image, `new-image`, with that name and no desktopId (which only an imported
# image may lack): Check must refuse it.
if config.get("newImageName"):
    ecd.Image("new-image", image_name=config.get("newImageName"), opts=pulumi.ResourceOptions(provider=provider))

if config.get("lookupId"):
    found = ecs.ImageSharePermission.get("found", config.require("lookupId"))
    pulumi.export("foundImageId", found.image_id)
    pulumi.export("foundAccountId", found.account_id)

# The lookup functions. `lookupImageId`: every account that image is shared with (the direct form, called
# while the program runs). `listImages` or any of its filters: the ECD images they select (the output form).
if config.get("lookupImageId"):
    shares = ecs.get_image_share_permissions(image_id=config.require("lookupImageId"))
    pulumi.export("lookupImageId", shares.image_id)
    pulumi.export("lookupAccountIds", shares.account_ids)

list_filters = {
    "image_ids": config.get_object("listImageIds"),
    "name_regex": config.get("listImagesRegex"),
    "status": config.get("listImagesStatus"),
}
if config.get_bool("listImages") or any(v is not None for v in list_filters.values()):
    listed = ecd.get_images_output(**list_filters)
    pulumi.export("listedImages", listed.images.apply(lambda images: [
        {"imageId": i.image_id, "imageName": i.image_name, "description": i.description,
         "status": i.status, "progress": i.progress}
        for i in images
    ]))
