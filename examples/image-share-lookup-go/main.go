package main

import (
	"github.com/alicloud-rs/pulumi-alicloud-rs/sdk/go/alicloud/ecs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		// Looks up an existing share by its id, <imageId>:<accountId>.
		shareID := config.New(ctx, "").Get("shareId")
		if shareID == "" {
			shareID = "m-bp1demoimage00000003:2234567890123456"
		}
		existing, err := ecs.GetImageSharePermission(ctx, "existing", pulumi.ID(shareID), nil)
		if err != nil {
			return err
		}
		ctx.Export("imageId", existing.ImageId)
		ctx.Export("accountId", existing.AccountId)
		return nil
	})
}
