import * as pulumi from "@pulumi/pulumi";
import * as alicloud from "@alicloud-rs/pulumi-alicloud";

// Looks up an existing share by its id, <imageId>:<accountId>.
const config = new pulumi.Config();

const existing = alicloud.ecs.ImageSharePermission.get(
    "existing",
    config.get("shareId") ?? "m-bp1demoimage00000003:2234567890123456",
);

export const imageId = existing.imageId;
export const accountId = existing.accountId;
