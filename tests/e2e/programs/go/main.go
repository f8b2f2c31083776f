// End-to-end program: what it declares comes from stack config, so every scenario shares it.
package main

import (
	"strings"

	"github.com/alicloud-rs/pulumi-alicloud-rs/sdk/go/alicloud"
	"github.com/alicloud-rs/pulumi-alicloud-rs/sdk/go/alicloud/ecd"
	"github.com/alicloud-rs/pulumi-alicloud-rs/sdk/go/alicloud/ecs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		cfg := config.New(ctx, "")
		// With `secretInputs`, the account and the description are passed as secrets.
		secretInputs := cfg.GetBool("secretInputs")
		maybeSecret := func(value string) pulumi.StringInput {
			if secretInputs {
				return pulumi.ToSecret(pulumi.String(value)).(pulumi.StringOutput)
			}
			return pulumi.String(value)
		}
		// With `explicitProvider`, the share and the image use a provider of that name, set up from the
		// stack's `alicloud:` region and keys and `explicitProviderEndpoint`, instead of the default provider.
		var providerOpts []pulumi.ResourceOption
		if name := cfg.Get("explicitProvider"); name != "" {
			settings := config.New(ctx, "alicloud")
			endpoint := cfg.Require("explicitProviderEndpoint")
			provider, err := alicloud.NewProvider(ctx, name, &alicloud.ProviderArgs{
				Region:    pulumi.String(settings.Require("region")),
				AccessKey: pulumi.String(settings.Require("accessKey")),
				SecretKey: settings.RequireSecret("secretKey"),
				Endpoints: &alicloud.ProviderEndpointsArgs{Ecs: pulumi.String(endpoint), Ecd: pulumi.String(endpoint)},
			})
			if err != nil {
				return err
			}
			providerOpts = append(providerOpts, pulumi.Provider(provider))
		}
		if cfg.Get("shareAccountId") != "" {
			share, err := ecs.NewImageSharePermission(ctx, "share", &ecs.ImageSharePermissionArgs{
				ImageId:   pulumi.String(cfg.Require("shareImageId")),
				AccountId: maybeSecret(cfg.Require("shareAccountId")),
			}, providerOpts...)
			if err != nil {
				return err
			}
			ctx.Export("shareId", share.ID())
		}
		// `manyShareAccountIds` (comma-separated): one more share of `shareImageId` per account, `share-<account>`.
		many := 0
		for _, account := range strings.Split(cfg.Get("manyShareAccountIds"), ",") {
			if account = strings.TrimSpace(account); account == "" {
				continue
			}
			_, err := ecs.NewImageSharePermission(ctx, "share-"+account, &ecs.ImageSharePermissionArgs{
				ImageId:   pulumi.String(cfg.Require("shareImageId")),
				AccountId: pulumi.String(account),
			}, providerOpts...)
			if err != nil {
				return err
			}
			many++
		}
		if many > 0 {
			ctx.Export("manyShares", pulumi.Int(many))
		}
		if cfg.Get("imageDesktopId") != "" {
			args := &ecd.ImageArgs{DesktopId: pulumi.String(cfg.Require("imageDesktopId"))}
			if name := cfg.Get("imageName"); name != "" {
				args.ImageName = pulumi.String(name)
			}
			if description := cfg.Get("imageDescription"); description != "" {
				args.Description = maybeSecret(description)
			}
			opts := append([]pulumi.ResourceOption{}, providerOpts...)
			if timeout := cfg.Get("imageCreateTimeout"); timeout != "" {
				opts = append(opts, pulumi.Timeouts(&pulumi.CustomTimeouts{Create: timeout}))
			}
			image, err := ecd.NewImage(ctx, "image", args, opts...)
			if err != nil {
				return err
			}
			ctx.Export("imageId", image.ID())
			ctx.Export("imageName", image.ImageName)
			ctx.Export("imageStatus", image.Status)
		}
		// `newImageName`: one more image, `new-image`, with that name and no desktopId (which only an
		// imported image may lack): Check must refuse it.
		if name := cfg.Get("newImageName"); name != "" {
			if _, err := ecd.NewImage(ctx, "new-image", &ecd.ImageArgs{ImageName: pulumi.String(name)}, providerOpts...); err != nil {
				return err
			}
		}
		if id := cfg.Get("lookupId"); id != "" {
			found, err := ecs.GetImageSharePermission(ctx, "found", pulumi.ID(id), nil)
			if err != nil {
				return err
			}
			ctx.Export("foundImageId", found.ImageId)
			ctx.Export("foundAccountId", found.AccountId)
		}
		// The lookup functions. `lookupImageId`: every account that image is shared with (the direct form,
		// called while the program runs). `listImages` or any of its filters: the ECD images they select (the
		// output form).
		if id := cfg.Get("lookupImageId"); id != "" {
			shares, err := ecs.GetImageSharePermissions(ctx, &ecs.GetImageSharePermissionsArgs{ImageId: id})
			if err != nil {
				return err
			}
			ctx.Export("lookupImageId", pulumi.String(shares.ImageId))
			ctx.Export("lookupAccountIds", pulumi.ToStringArray(shares.AccountIds))
		}
		listArgs := ecd.GetImagesOutputArgs{}
		listing := cfg.GetBool("listImages")
		var ids []string
		if err := cfg.TryObject("listImageIds", &ids); err == nil {
			listArgs.ImageIds = pulumi.ToStringArray(ids)
			listing = true
		}
		if regex, err := cfg.Try("listImagesRegex"); err == nil {
			listArgs.NameRegex = pulumi.String(regex)
			listing = true
		}
		if status, err := cfg.Try("listImagesStatus"); err == nil {
			listArgs.Status = pulumi.String(status)
			listing = true
		}
		if listing {
			listed := ecd.GetImagesOutput(ctx, listArgs)
			ctx.Export("listedImages", listed.Images().ApplyT(func(images []ecd.GetImagesImage) []map[string]interface{} {
				out := make([]map[string]interface{}, 0, len(images))
				for _, i := range images {
					out = append(out, map[string]interface{}{
						"imageId": i.ImageId, "imageName": i.ImageName, "description": i.Description,
						"status": i.Status, "progress": i.Progress,
					})
				}
				return out
			}))
		}
		return nil
	})
}
