//! Lookup functions (invokes): read-only queries that run through the same client, retries and credentials
//! as the resources, in preview as well as in an update. One file per function behind one [`Function`] trait.

mod get_image_share_permissions;
mod get_images;

use async_trait::async_trait;

use crate::check::Failure;
use crate::resources::{Ctx, ResourceError};
use crate::schema::{FunctionSpec, Schema};
use crate::values::Props;

pub use get_image_share_permissions::GetImageSharePermissions;
pub use get_images::GetImages;

/// One lookup function.
#[async_trait]
pub trait Function: Send + Sync {
    /// This function's part of the schema.
    fn spec(&self) -> &FunctionSpec;

    /// Function-specific checks of the arguments (formats), before anything is called.
    fn validate(&self, args: &Props) -> Vec<Failure>;

    /// Runs the query.
    async fn invoke(&self, ctx: &Ctx<'_>, args: &Props) -> Result<Props, ResourceError>;
}

/// Every function this provider offers.
pub fn registry(schema: &'static Schema) -> Vec<Box<dyn Function>> {
    let spec = |token: &str| {
        // Both tokens are in the embedded schema; the schema tests guard it.
        schema
            .function(token)
            .unwrap_or_else(|| panic!("schema.json lacks {token}"))
    };
    vec![
        Box::new(GetImageSharePermissions::new(spec(
            GetImageSharePermissions::TOKEN,
        ))),
        Box::new(GetImages::new(spec(GetImages::TOKEN))),
    ]
}

/// The schema's checks of the arguments: unknown names, required inputs and types.
pub fn check_args(function: &dyn Function, args: &Props) -> Vec<Failure> {
    let spec = function.spec();
    let mut failures = Vec::new();
    for key in args.keys().filter(|k| !k.starts_with("__")) {
        if !spec.inputs.contains(key) {
            failures.push(Failure::new(
                key,
                format!(
                    "unknown argument '{key}'; {} accepts: {}",
                    spec.token,
                    spec.inputs.join(", ")
                ),
            ));
        }
    }
    for name in &spec.required_inputs {
        if crate::values::get_str(args, name).is_none() {
            failures.push(Failure::new(
                name,
                format!("missing required argument '{name}'"),
            ));
        }
    }
    failures.extend(function.validate(args));
    failures
}
