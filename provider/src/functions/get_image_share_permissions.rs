//! `alicloud:ecs:getImageSharePermissions`: every account a custom ECS image is shared with.

use async_trait::async_trait;
use serde_json::Value;

use super::Function;
use crate::check::{self, Failure};
use crate::resources::{Ctx, ResourceError};
use crate::schema::FunctionSpec;
use crate::values::{self, Props};

const IMAGE_ID: &str = "imageId";
const ACCOUNT_IDS: &str = "accountIds";

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
impl Function for GetImageSharePermissions {
    fn spec(&self) -> &FunctionSpec {
        self.spec
    }

    fn validate(&self, args: &Props) -> Vec<Failure> {
        values::get_str(args, IMAGE_ID)
            .and_then(|v| check::id_with_prefix(IMAGE_ID, v, "m-", "m-bp1g7004ksh0oeuc6ps1"))
            .into_iter()
            .collect()
    }

    async fn invoke(&self, ctx: &Ctx<'_>, args: &Props) -> Result<Props, ResourceError> {
        let image_id = values::get_str(args, IMAGE_ID).unwrap_or_default();
        let Some(accounts) = ctx.shares.list(&ctx.call, image_id).await? else {
            return Err(ResourceError::Failed(format!(
                "image {image_id} does not exist in region {} (or is not owned by this account)",
                ctx.client.region()
            )));
        };
        let mut out = Props::new();
        out.insert(IMAGE_ID.into(), Value::String(image_id.into()));
        out.insert(
            ACCOUNT_IDS.into(),
            Value::Array(accounts.into_iter().map(Value::String).collect()),
        );
        Ok(out)
    }
}
