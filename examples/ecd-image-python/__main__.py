import pulumi
import pulumi_alicloud_rs as alicloud

# Defaults are the local emulator's seed; set desktopId to use your own desktop.
config = pulumi.Config()

image = alicloud.ecd.Image(
    "default",
    desktop_id=config.get("desktopId") or "ecd-demodesktop0000001",
    image_name="golden-desktop",
    description="Golden desktop image",
)

pulumi.export("imageId", image.id)
pulumi.export("status", image.status)
