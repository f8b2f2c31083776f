package main

import (
	"github.com/alicloud-rs/pulumi-alicloud-rs/sdk/go/alicloud/ecs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		// Lists every account a custom ECS image is shared with.
		imageID := config.New(ctx, "").Get("imageId")
		if imageID == "" {
			imageID = "m-bp1demoimage00000003"
		}
		shares := ecs.GetImageSharePermissionsOutput(ctx, ecs.GetImageSharePermissionsOutputArgs{
			ImageId: pulumi.String(imageID),
		})
		ctx.Export("imageId", shares.ImageId())
		ctx.Export("accountIds", shares.AccountIds())
		return nil
	})
}
