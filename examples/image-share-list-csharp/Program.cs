using System.Collections.Generic;
using Pulumi;
using Alicloud = AlicloudRs.Pulumi.Alicloud;

return await Deployment.RunAsync(() =>
{
    // Lists every account a custom ECS image is shared with.
    var config = new Config();

    var shares = Alicloud.Ecs.GetImageSharePermissions.Invoke(new()
    {
        ImageId = config.Get("imageId") ?? "m-bp1demoimage00000003",
    });

    return new Dictionary<string, object?>
    {
        ["imageId"] = shares.Apply(result => result.ImageId),
        ["accountIds"] = shares.Apply(result => result.AccountIds),
    };
});
