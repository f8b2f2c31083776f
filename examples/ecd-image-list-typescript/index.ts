import * as pulumi from "@pulumi/pulumi";
import * as alicloud from "@alicloud-rs/pulumi-alicloud";

// Makes a golden image from a desktop, then lists every Available custom ECD image whose name matches a
// pattern. Defaults are the local emulator's seed; set desktopId and nameRegex to use your own.
const config = new pulumi.Config();

const image = new alicloud.ecd.Image("golden", {
    desktopId: config.get("desktopId") ?? "ecd-demodesktop0000001",
    imageName: "golden-listed",
});

// dependsOn: the list is read once the image above is Available.
const golden = alicloud.ecd.getImagesOutput({
    nameRegex: config.get("nameRegex") ?? "^golden-",
    status: "Available",
}, { dependsOn: [image] });

export const status = image.status;
export const goldenImageIds = golden.images.apply(images => images.map(i => i.imageId));
