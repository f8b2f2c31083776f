// Preview checks program: one share of `imageId` per account in `accounts` (comma-separated), named
// `share-<account>`; with `listAccounts` (comma-separated), an ImageShareList `list` of `imageId`; and, with
// `desktopId`, one ECD image named `imageName`.
import * as pulumi from "@pulumi/pulumi";
import * as alicloud from "@alicloud-rs/pulumi-alicloud";

const config = new pulumi.Config();

const accounts = (config.get("accounts") ?? "").split(",").map(a => a.trim()).filter(a => a);
for (const account of accounts) {
    new alicloud.ecs.ImageSharePermission(`share-${account}`, {
        imageId: config.require("imageId"),
        accountId: account,
    });
}

if (config.get("listAccounts")) {
    new alicloud.ecs.ImageShareList("list", {
        imageId: config.require("imageId"),
        accountIds: config.require("listAccounts").split(",").map(a => a.trim()),
    });
}

export let imageId: pulumi.Output<string> | undefined;
if (config.get("desktopId")) {
    const image = new alicloud.ecd.Image("image", {
        desktopId: config.require("desktopId"),
        imageName: config.get("imageName"),
    });
    imageId = image.id;
}
