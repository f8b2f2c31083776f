using System.Collections.Generic;
using Pulumi;
using Alicloud = AlicloudRs.Pulumi.Alicloud;

return await Deployment.RunAsync(() =>
{
    // Defaults are the local emulator's seed; set desktopId to use your own desktop.
    var config = new Config();

    var image = new Alicloud.Ecd.Image("default", new()
    {
        DesktopId = config.Get("desktopId") ?? "ecd-demodesktop0000001",
        ImageName = "golden-desktop",
        Description = "Golden desktop image",
    });

    return new Dictionary<string, object?>
    {
        ["imageId"] = image.Id,
        ["status"] = image.Status,
    };
});
