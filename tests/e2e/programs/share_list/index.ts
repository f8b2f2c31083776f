// End-to-end program of the share list: what it declares comes from stack config.
import * as pulumi from "@pulumi/pulumi";
import * as alicloud from "@alicloud-rs/pulumi-alicloud";

const config = new pulumi.Config();
// `listAccountIds`: comma-separated, in any order.
const accounts = (config.get("listAccountIds") ?? "").split(",").map((a) => a.trim()).filter((a) => a !== "");

const shares = new alicloud.ecs.ImageShareList("shares", {
    imageId: config.require("listImageId"),
    accountIds: accounts,
    isPublic: config.getBoolean("listIsPublic"),
    keepOnDelete: config.getBoolean("listKeepOnDelete"),
});
export const accountIds = shares.accountIds;
export const isPublic = shares.isPublic;
export const region = shares.region;

// `alsoShareAccountId`: one more share of the same image through ImageSharePermission (a mistake the
// provider warns about).
const also = config.get("alsoShareAccountId");
if (also) {
    new alicloud.ecs.ImageSharePermission("also", { imageId: config.require("listImageId"), accountId: also });
}
