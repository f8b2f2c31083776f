import * as pulumi from "@pulumi/pulumi";
import * as alicloud from "@alicloud-rs/pulumi-alicloud";

// Owns the whole share list of a custom ECS image: after `pulumi up` it is shared with exactly these
// accounts. Defaults are the local emulator's seed; set imageId/accountIds (comma-separated) to use your own.
const config = new pulumi.Config();

const shares = new alicloud.ecs.ImageShareList("default", {
    imageId: config.get("imageId") ?? "m-bp1demoimage00000002",
    accountIds: (config.get("accountIds") ?? "2234567890123456,3234567890123456").split(","),
});

export const sharedWith = shares.accountIds;
