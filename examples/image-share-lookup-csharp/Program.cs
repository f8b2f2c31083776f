using System.Collections.Generic;
using Pulumi;
using Alicloud = AlicloudRs.Pulumi.Alicloud;

return await Deployment.RunAsync(() =>
{
    // Looks up an existing share by its id, <imageId>:<accountId>.
    var config = new Config();

    var existing = Alicloud.Ecs.ImageSharePermission.Get(
        "existing",
        config.Get("shareId") ?? "m-bp1demoimage00000003:2234567890123456");

    return new Dictionary<string, object?>
    {
        ["imageId"] = existing.ImageId,
        ["accountId"] = existing.AccountId,
    };
});
