using System.Collections.Generic;
using Pulumi;
using Alicloud = AlicloudRs.Pulumi.Alicloud;

return await Deployment.RunAsync(() =>
{
    // Defaults are the local emulator's seed; set imageId/accountId to use your own.
    var config = new Config();

    var share = new Alicloud.Ecs.ImageSharePermission("default", new()
    {
        ImageId = config.Get("imageId") ?? "m-bp1demoimage00000001",
        AccountId = config.Get("accountId") ?? "2234567890123456",
    });

    return new Dictionary<string, object?>
    {
        ["shareId"] = share.Id,
    };
});
