import * as pulumi from "@pulumi/pulumi";
import * as alicloud from "@alicloud-rs/pulumi-alicloud";

// Shares a custom image with a partner account and makes a golden desktop image.
// Defaults are the local emulator's seed (see `make demo`).
const config = new pulumi.Config();

const share = new alicloud.ecs.ImageSharePermission("partner", {
    imageId: config.get("imageId") ?? "m-bp1demoimage00000001",
    accountId: config.get("partnerAccountId") ?? "2234567890123456",
});

const golden = new alicloud.ecd.Image("golden", {
    desktopId: config.get("desktopId") ?? "ecd-demodesktop0000001",
    imageName: "golden-desktop",
    description: "Golden desktop image",
});

export const shareId = share.id;
export const imageId = golden.id;
export const imageStatus = golden.status;
