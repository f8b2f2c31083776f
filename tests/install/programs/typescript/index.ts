// One share, from the @alicloud-rs/pulumi-alicloud npm package.
import * as pulumi from "@pulumi/pulumi";
import * as alicloud from "@alicloud-rs/pulumi-alicloud";

const config = new pulumi.Config();
const share = new alicloud.ecs.ImageSharePermission("share", {
    imageId: config.require("shareImageId"),
    accountId: config.require("shareAccountId"),
});
export const shareId = share.id;
