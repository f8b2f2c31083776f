package main

import (
	"github.com/alicloud-rs/pulumi-alicloud-rs/sdk/go/alicloud/ecd"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		// Defaults are the local emulator's seed; set desktopId to use your own desktop.
		desktopID := config.New(ctx, "").Get("desktopId")
		if desktopID == "" {
			desktopID = "ecd-demodesktop0000001"
		}
		image, err := ecd.NewImage(ctx, "default", &ecd.ImageArgs{
			DesktopId:   pulumi.String(desktopID),
			ImageName:   pulumi.String("golden-desktop"),
			Description: pulumi.String("Golden desktop image"),
		})
		if err != nil {
			return err
		}
		ctx.Export("imageId", image.ID())
		ctx.Export("status", image.Status)
		return nil
	})
}
