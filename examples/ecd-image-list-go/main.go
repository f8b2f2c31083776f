package main

import (
	"github.com/alicloud-rs/pulumi-alicloud-rs/sdk/go/alicloud/ecd"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		// Makes a golden image from a desktop, then lists every Available custom ECD image whose name matches
		// a pattern. Defaults are the local emulator's seed; set desktopId and nameRegex to use your own.
		cfg := config.New(ctx, "")
		desktopID := cfg.Get("desktopId")
		if desktopID == "" {
			desktopID = "ecd-demodesktop0000001"
		}
		nameRegex := cfg.Get("nameRegex")
		if nameRegex == "" {
			nameRegex = "^golden-"
		}
		image, err := ecd.NewImage(ctx, "golden", &ecd.ImageArgs{
			DesktopId: pulumi.String(desktopID),
			ImageName: pulumi.String("golden-listed"),
		})
		if err != nil {
			return err
		}
		// DependsOn: the list is read once the image above is Available.
		golden := ecd.GetImagesOutput(ctx, ecd.GetImagesOutputArgs{
			NameRegex: pulumi.String(nameRegex),
			Status:    pulumi.String("Available"),
		}, pulumi.DependsOn([]pulumi.Resource{image}))
		ctx.Export("status", image.Status)
		ctx.Export("goldenImageIds", golden.Images().ApplyT(func(images []ecd.GetImagesImage) []string {
			ids := make([]string, 0, len(images))
			for _, i := range images {
				ids = append(ids, i.ImageId)
			}
			return ids
		}).(pulumi.StringArrayOutput))
		return nil
	})
}
