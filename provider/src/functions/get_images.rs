//! `alicloud:ecd:getImages`: custom Elastic Cloud Desktop images, by id, name pattern and status.

use async_trait::async_trait;
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::TypedFunction;
use crate::alicloud::EcdImageFilter;
use crate::check::Failure;
use crate::resources::{Ctx, ResourceError};
use crate::schema::FunctionSpec;

// Argument names, for messages.
const NAME_REGEX: &str = "nameRegex";
const STATUS: &str = "status";
const STATUSES: &[&str] = &["Creating", "Available", "CreateFailed"];

/// The arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetImagesArgs {
    /// Only these image ids.
    pub image_ids: Option<Vec<String>>,
    /// A pattern the image name must match.
    pub name_regex: Option<String>,
    /// Only images in this status.
    pub status: Option<String>,
}

/// The result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetImagesResult {
    /// The images found.
    pub images: Vec<FoundImage>,
}

/// One image found (`alicloud:ecd:getImagesImage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FoundImage {
    /// The image id.
    pub image_id: String,
    /// The image name.
    pub image_name: Option<String>,
    /// The image description.
    pub description: Option<String>,
    /// `Creating`, `Available` or `CreateFailed`.
    pub status: String,
    /// How far the image is made.
    pub progress: Option<String>,
}

/// The ECD image lookup.
pub struct GetImages {
    spec: &'static FunctionSpec,
}

impl GetImages {
    /// The function token.
    pub const TOKEN: &'static str = "alicloud:ecd:getImages";

    /// A function bound to its schema.
    pub fn new(spec: &'static FunctionSpec) -> Self {
        GetImages { spec }
    }
}

fn name_regex(args: &GetImagesArgs) -> Result<Option<Regex>, Failure> {
    args.name_regex
        .as_deref()
        .map(|pattern| {
            Regex::new(pattern).map_err(|e| {
                Failure::new(
                    NAME_REGEX,
                    format!("'{NAME_REGEX}' is not a valid regular expression: {e}"),
                )
            })
        })
        .transpose()
}

#[async_trait]
impl TypedFunction for GetImages {
    type Args = GetImagesArgs;
    type Output = GetImagesResult;

    fn spec(&self) -> &FunctionSpec {
        self.spec
    }

    fn validate(&self, args: &GetImagesArgs) -> Vec<Failure> {
        let mut failures = Vec::new();
        failures.extend(name_regex(args).err());
        if let Some(status) = args.status.as_deref()
            && !STATUSES.contains(&status)
        {
            failures.push(Failure::new(
                STATUS,
                format!(
                    "'{STATUS}' must be one of {}, got {status:?}",
                    STATUSES.join(", ")
                ),
            ));
        }
        failures
    }

    async fn invoke(
        &self,
        ctx: &Ctx<'_>,
        args: &GetImagesArgs,
    ) -> Result<GetImagesResult, ResourceError> {
        let filter = EcdImageFilter {
            image_ids: args.image_ids.clone().unwrap_or_default(),
            status: args.status.clone(),
            // Only images made from desktops: the system images are not this provider's business.
            image_type: Some("CUSTOM".into()),
            ..Default::default()
        };
        let pattern = name_regex(args).map_err(|f| ResourceError::Failed(f.reason))?;
        let images = ctx
            .client
            .list_ecd_images(&ctx.call, &filter)
            .await?
            .into_iter()
            .filter(|i| {
                pattern
                    .as_ref()
                    .is_none_or(|p| p.is_match(i.name.as_deref().unwrap_or_default()))
            })
            .map(|i| FoundImage {
                image_id: i.image_id,
                image_name: i.name,
                description: i.description,
                status: i.status,
                progress: i.progress,
            })
            .collect();
        Ok(GetImagesResult { images })
    }
}
