package main

import (
	"github.com/alicloud-rs/pulumi-alicloud-rs/sdk/go/alicloud/ecs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		// Defaults are the local emulator's seed; set imageId/accountId to use your own.
		cfg := config.New(ctx, "")
		imageID := cfg.Get("imageId")
		if imageID == "" {
			imageID = "m-bp1demoimage00000001"
		}
		accountID := cfg.Get("accountId")
		if accountID == "" {
			accountID = "2234567890123456"
		}
		share, err := ecs.NewImageSharePermission(ctx, "default", &ecs.ImageSharePermissionArgs{
			ImageId:   pulumi.String(imageID),
			AccountId: pulumi.String(accountID),
		})
		if err != nil {
			return err
		}
		ctx.Export("shareId", share.ID())
		return nil
	})
}
