import pulumi
import pulumi_alicloud_rs as alicloud

# Makes a golden image from a desktop, then lists every Available custom ECD image whose name matches a
# pattern. Defaults are the local emulator's seed; set desktopId and nameRegex to use your own.
config = pulumi.Config()

image = alicloud.ecd.Image(
    "golden",
    desktop_id=config.get("desktopId") or "ecd-demodesktop0000001",
    image_name="golden-listed",
)

# depends_on: the list is read once the image above is Available.
golden = alicloud.ecd.get_images_output(
    name_regex=config.get("nameRegex") or "^golden-",
    status="Available",
    opts=pulumi.InvokeOutputOptions(depends_on=[image]),
)

pulumi.export("status", image.status)
pulumi.export("goldenImageIds", golden.images.apply(lambda images: [i.image_id for i in images]))
