package main

import (
	"strings"

	"github.com/alicloud-rs/pulumi-alicloud-rs/sdk/go/alicloud/ecs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		// Owns the whole share list of a custom ECS image: after `pulumi up` it is shared with exactly these
		// accounts. Defaults are the local emulator's seed; set imageId/accountIds (comma-separated) to use
		// your own.
		cfg := config.New(ctx, "")
		imageID := cfg.Get("imageId")
		if imageID == "" {
			imageID = "m-bp1demoimage00000002"
		}
		accounts := cfg.Get("accountIds")
		if accounts == "" {
			accounts = "2234567890123456,3234567890123456"
		}
		shares, err := ecs.NewImageShareList(ctx, "default", &ecs.ImageShareListArgs{
			ImageId:    pulumi.String(imageID),
			AccountIds: pulumi.ToStringArray(strings.Split(accounts, ",")),
		})
		if err != nil {
			return err
		}
		ctx.Export("sharedWith", shares.AccountIds)
		return nil
	})
}
