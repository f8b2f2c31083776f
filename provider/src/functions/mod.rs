//! Lookup functions (invokes): read-only queries that run through the same client, retries and credentials
//! as the resources, in preview as well as in an update. One file per function behind one [`Function`] trait.

mod get_image_share_permissions;
mod get_images;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::check::Failure;
use crate::resources::{Ctx, ResourceError};
use crate::schema::{FunctionSpec, Schema};
use crate::values::{self, Props};

pub use get_image_share_permissions::{
    GetImageSharePermissions, GetImageSharePermissionsArgs, GetImageSharePermissionsResult,
};
pub use get_images::{FoundImage, GetImages, GetImagesArgs, GetImagesResult};

/// One lookup function as the server sees it, on properties. Implemented for every [`TypedFunction`], which
/// converts the properties at this one boundary.
#[async_trait]
pub trait Function: Send + Sync {
    /// This function's part of the schema.
    fn spec(&self) -> &FunctionSpec;

    /// Function-specific checks of the arguments (formats), before anything is called.
    fn validate(&self, args: &Props) -> Vec<Failure>;

    /// Runs the query.
    async fn invoke(&self, ctx: &Ctx<'_>, args: &Props) -> Result<Props, ResourceError>;
}

/// One lookup function on typed arguments and result; a test checks the types against the schema.
#[async_trait]
pub trait TypedFunction: Send + Sync {
    /// The arguments.
    type Args: DeserializeOwned + Send + Sync;
    /// The result.
    type Output: Serialize + Send + Sync;

    /// This function's part of the schema.
    fn spec(&self) -> &FunctionSpec;

    /// Function-specific checks of the arguments (formats), before anything is called.
    fn validate(&self, args: &Self::Args) -> Vec<Failure>;

    /// Runs the query.
    async fn invoke(&self, ctx: &Ctx<'_>, args: &Self::Args)
    -> Result<Self::Output, ResourceError>;
}

#[async_trait]
impl<F: TypedFunction> Function for F {
    fn spec(&self) -> &FunctionSpec {
        TypedFunction::spec(self)
    }

    fn validate(&self, args: &Props) -> Vec<Failure> {
        // Arguments that are not of their types are reported by `check_args` from the schema.
        values::decode(args)
            .map(|args| TypedFunction::validate(self, &args))
            .unwrap_or_default()
    }

    async fn invoke(&self, ctx: &Ctx<'_>, args: &Props) -> Result<Props, ResourceError> {
        let args = values::decode(args).map_err(|e| {
            ResourceError::Failed(format!("invalid arguments for {}: {e}", self.spec().token))
        })?;
        Ok(values::encode(
            &TypedFunction::invoke(self, ctx, &args).await?,
        ))
    }
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
        let missing = args
            .get(name)
            .map(values::reveal)
            .is_none_or(|v| v.is_null() || values::is_unknown(v));
        if missing {
            failures.push(Failure::new(
                name,
                format!("missing required argument '{name}'"),
            ));
        }
    }
    failures.extend(type_failures(spec, args));
    failures.extend(function.validate(args));
    failures
}

/// The arguments that are set but not of their schema types (a string, a list of strings, ...).
fn type_failures(spec: &FunctionSpec, args: &Props) -> Vec<Failure> {
    let of_kind = |kind: Option<&String>, v: &Value| match kind.map(String::as_str) {
        Some("string") => v.is_string(),
        Some("boolean") => v.is_boolean(),
        Some("integer" | "number") => v.is_number(),
        _ => true,
    };
    let mut failures = Vec::new();
    for (name, kind) in &spec.input_types {
        let Some(value) = args
            .get(name)
            .map(values::reveal)
            .filter(|v| !v.is_null() && !values::is_unknown(v))
        else {
            continue;
        };
        let reason = if kind == "array" {
            let item = spec.input_item_types.get(name);
            let wrong = match value {
                Value::Array(items) => items.iter().map(values::reveal).find(|i| !of_kind(item, i)),
                other => Some(other),
            };
            wrong.map(|got| {
                let of = item.map(|i| format!(" of {i}s")).unwrap_or_default();
                format!("'{name}' must be a list{of}, got {got}")
            })
        } else {
            (!of_kind(Some(kind), value)).then(|| format!("'{name}' must be a {kind}, got {value}"))
        };
        failures.extend(reason.map(|r| Failure::new(name, r)));
    }
    failures
}
