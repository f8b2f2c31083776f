using System.Collections.Generic;
using System.Linq;
using Pulumi;
using Alicloud = AlicloudRs.Pulumi.Alicloud;

return await Deployment.RunAsync(() =>
{
    // Makes a golden image from a desktop, then lists every Available custom ECD image whose name matches a
    // pattern. Defaults are the local emulator's seed; set desktopId and nameRegex to use your own.
    var config = new Config();

    var image = new Alicloud.Ecd.Image("golden", new()
    {
        DesktopId = config.Get("desktopId") ?? "ecd-demodesktop0000001",
        ImageName = "golden-listed",
    });

    // DependsOn: the list is read once the image above is Available.
    var golden = Alicloud.Ecd.GetImages.Invoke(new()
    {
        NameRegex = config.Get("nameRegex") ?? "^golden-",
        Status = "Available",
    }, new InvokeOutputOptions { DependsOn = { image } });

    return new Dictionary<string, object?>
    {
        ["status"] = image.Status,
        ["goldenImageIds"] = golden.Apply(result => result.Images.Select(i => i.ImageId).ToList()),
    };
});
