// A Pulumi native provider for Alibaba Cloud, written in Rust: share custom ECS images with other accounts and manage Elastic Cloud Desktop images as code.
package alicloud
