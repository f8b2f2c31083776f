import * as pulumi from "@pulumi/pulumi";
import * as alicloud from "@alicloud-rs/pulumi-alicloud";

// Defaults are the local emulator's seed; set desktopId to use your own desktop.
const config = new pulumi.Config();

const image = new alicloud.ecd.Image("default", {
    desktopId: config.get("desktopId") ?? "ecd-demodesktop0000001",
    imageName: "golden-desktop",
    description: "Golden desktop image",
});

export const imageId = image.id;
export const status = image.status;
