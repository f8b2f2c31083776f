//! `alicloud:ecs:getImageSharePermissions`: every account a custom ECS image is shared with.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::TypedFunction;
use crate::check::{self, Failure};
use crate::resources::{Ctx, ResourceError};
use crate::schema::FunctionSpec;

/// The argument's name, for messages.
const IMAGE_ID: &str = "imageId";

/// The arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetImageSharePermissionsArgs {
    /// The custom image to look up.
    pub image_id: String,
}

/// The result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetImageSharePermissionsResult {
    /// The image looked up.
    pub image_id: String,
    /// The accounts it is shared with, in the order they were added.
    pub account_ids: Vec<String>,
}

/// The share lookup.
pub struct GetImageSharePermissions {
    spec: &'static FunctionSpec,
}

impl GetImageSharePermissions {
    /// The function token.
    pub const TOKEN: &'static str = "alicloud:ecs:getImageSharePermissions";

    /// A function bound to its schema.
    pub fn new(spec: &'static FunctionSpec) -> Self {
        GetImageSharePermissions { spec }
    }
}

#[async_trait]
impl TypedFunction for GetImageSharePermissions {
    type Args = GetImageSharePermissionsArgs;
    type Output = GetImageSharePermissionsResult;

    fn spec(&self) -> &FunctionSpec {
        self.spec
    }

    fn validate(&self, args: &GetImageSharePermissionsArgs) -> Vec<Failure> {
        check::id_with_prefix(IMAGE_ID, &args.image_id, "m-", "m-bp1g7004ksh0oeuc6ps1")
            .into_iter()
            .collect()
    }

    async fn invoke(
        &self,
        ctx: &Ctx<'_>,
        args: &GetImageSharePermissionsArgs,
    ) -> Result<GetImageSharePermissionsResult, ResourceError> {
        let image_id = args.image_id.as_str();
        let Some(accounts) = ctx.shares.list(&ctx.call, image_id).await? else {
            return Err(ResourceError::Failed(format!(
                "image {image_id} does not exist in region {} (or is not owned by this account)",
                ctx.client.region()
            )));
        };
        Ok(GetImageSharePermissionsResult {
            image_id: image_id.to_string(),
            account_ids: accounts,
        })
    }
}
