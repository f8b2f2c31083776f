using System.Collections.Generic;
using Pulumi;
using Alicloud = AlicloudRs.Pulumi.Alicloud;

return await Deployment.RunAsync(() =>
{
    // Owns the whole share list of a custom ECS image: after `pulumi up` it is shared with exactly these
    // accounts. Defaults are the local emulator's seed; set imageId/accountIds (comma-separated) to use your own.
    var config = new Config();

    var shares = new Alicloud.Ecs.ImageShareList("default", new()
    {
        ImageId = config.Get("imageId") ?? "m-bp1demoimage00000002",
        AccountIds = (config.Get("accountIds") ?? "2234567890123456,3234567890123456").Split(','),
    });

    return new Dictionary<string, object?>
    {
        ["sharedWith"] = shares.AccountIds,
    };
});
