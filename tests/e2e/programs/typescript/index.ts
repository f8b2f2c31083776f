// End-to-end program: what it declares comes from stack config, so every scenario shares it.
import * as pulumi from "@pulumi/pulumi";
import * as alicloud from "@alicloud-rs/pulumi-alicloud";

const config = new pulumi.Config();
// With `secretInputs`, the account and the description are passed as secrets.
const secretInputs = config.getBoolean("secretInputs") ?? false;

function maybeSecret(value: string): pulumi.Input<string>;
function maybeSecret(value: string | undefined): pulumi.Input<string> | undefined;
function maybeSecret(value: string | undefined): pulumi.Input<string> | undefined {
    return secretInputs && value !== undefined ? pulumi.secret(value) : value;
}

// With `explicitProvider`, the share and the image use a provider of that name, set up from the stack's
// `alicloud:` region and keys and `explicitProviderEndpoint`, instead of the default provider.
let provider: alicloud.Provider | undefined;
const explicitProvider = config.get("explicitProvider");
if (explicitProvider) {
    const settings = new pulumi.Config("alicloud");
    const endpoint = config.require("explicitProviderEndpoint");
    provider = new alicloud.Provider(explicitProvider, {
        region: settings.require("region"),
        accessKey: settings.require("accessKey"),
        secretKey: settings.requireSecret("secretKey"),
        endpoints: { ecs: endpoint, ecd: endpoint },
    });
}

export let shareId: pulumi.Output<string> | undefined;
if (config.get("shareAccountId")) {
    const share = new alicloud.ecs.ImageSharePermission("share", {
        imageId: config.require("shareImageId"),
        accountId: maybeSecret(config.require("shareAccountId")),
    }, { provider });
    shareId = share.id;
}

// `manyShareAccountIds` (comma-separated): one more share of `shareImageId` per account, `share-<account>`.
const manyAccounts = (config.get("manyShareAccountIds") ?? "").split(",").map(a => a.trim()).filter(a => a);
for (const account of manyAccounts) {
    new alicloud.ecs.ImageSharePermission(`share-${account}`, {
        imageId: config.require("shareImageId"),
        accountId: account,
    }, { provider });
}
export const manyShares = manyAccounts.length > 0 ? manyAccounts.length : undefined;

export let imageId: pulumi.Output<string> | undefined;
export let imageName: pulumi.Output<string | undefined> | undefined;
export let imageStatus: pulumi.Output<string> | undefined;
if (config.get("imageDesktopId")) {
    const createTimeout = config.get("imageCreateTimeout");
    const image = new alicloud.ecd.Image("image", {
        desktopId: config.require("imageDesktopId"),
        imageName: config.get("imageName"),
        description: maybeSecret(config.get("imageDescription")),
    }, { provider, ...(createTimeout ? { customTimeouts: { create: createTimeout } } : {}) });
    imageId = image.id;
    imageName = image.imageName;
    imageStatus = image.status;
}

// `newImageName`: one more image, `new-image`, with that name and no desktopId (which only an imported
// image may lack): Check must refuse it. (The cast keeps this compiling where the SDK requires desktopId.)
const newImageName = config.get("newImageName");
if (newImageName) {
    new alicloud.ecd.Image("new-image", { imageName: newImageName } as Partial<alicloud.ecd.ImageArgs> as alicloud.ecd.ImageArgs,
        { provider });
}

export let foundImageId: pulumi.Output<string> | undefined;
export let foundAccountId: pulumi.Output<string> | undefined;
const lookupId = config.get("lookupId");
if (lookupId) {
    const found = alicloud.ecs.ImageSharePermission.get("found", lookupId);
    foundImageId = found.imageId;
    foundAccountId = found.accountId;
}

// The lookup functions. `lookupImageId`: every account that image is shared with (the direct form, a promise).
// `listImages` or any of its filters: the ECD images they select (the output form).
export let lookupImageId: pulumi.Output<string> | undefined;
export let lookupAccountIds: pulumi.Output<string[]> | undefined;
const lookupImage = config.get("lookupImageId");
if (lookupImage) {
    const shares = pulumi.output(alicloud.ecs.getImageSharePermissions({ imageId: lookupImage }));
    lookupImageId = shares.imageId;
    lookupAccountIds = shares.accountIds;
}

export let listedImages: pulumi.Output<object[]> | undefined;
const listFilters = {
    imageIds: config.getObject<string[]>("listImageIds"),
    nameRegex: config.get("listImagesRegex"),
    status: config.get("listImagesStatus"),
};
if (config.getBoolean("listImages") || Object.values(listFilters).some(v => v !== undefined)) {
    listedImages = alicloud.ecd.getImagesOutput(listFilters).images.apply(images => images.map(i => ({
        imageId: i.imageId, imageName: i.imageName, description: i.description, status: i.status, progress: i.progress,
    })));
}
