import * as pulumi from "@pulumi/pulumi";
import * as alicloud from "@alicloud-rs/pulumi-alicloud";

// Lists every account a custom ECS image is shared with.
const config = new pulumi.Config();

const shares = alicloud.ecs.getImageSharePermissionsOutput({
    imageId: config.get("imageId") ?? "m-bp1demoimage00000003",
});

export const imageId = shares.imageId;
export const accountIds = shares.accountIds;
