import * as pulumi from "@pulumi/pulumi";
import * as alicloud from "@alicloud-rs/pulumi-alicloud";

// Defaults are the local emulator's seed; set imageId/accountId to use your own.
const config = new pulumi.Config();

const share = new alicloud.ecs.ImageSharePermission("default", {
    imageId: config.get("imageId") ?? "m-bp1demoimage00000001",
    accountId: config.get("accountId") ?? "2234567890123456",
});

export const shareId = share.id;
