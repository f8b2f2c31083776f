//! `alicloud:ecd:getImages`: custom Elastic Cloud Desktop images, by id, name pattern and status.

use async_trait::async_trait;
use regex::Regex;
use serde_json::{Map, Value};

use super::Function;
use crate::alicloud::EcdImageFilter;
use crate::check::Failure;
use crate::resources::{Ctx, ResourceError};
use crate::schema::FunctionSpec;
use crate::values::{self, Props};

const IMAGE_IDS: &str = "imageIds";
const NAME_REGEX: &str = "nameRegex";
const STATUS: &str = "status";
const IMAGES: &str = "images";
const STATUSES: &[&str] = &["Creating", "Available", "CreateFailed"];

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

fn image_ids(args: &Props) -> Result<Vec<String>, Failure> {
    match args.get(IMAGE_IDS).map(values::reveal) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(ids)) => ids
            .iter()
            .map(|v| match values::reveal(v) {
                Value::String(s) => Ok(s.clone()),
                other => Err(Failure::new(
                    IMAGE_IDS,
                    format!("'{IMAGE_IDS}' must be a list of image ids, got {other}"),
                )),
            })
            .collect(),
        Some(other) => Err(Failure::new(
            IMAGE_IDS,
            format!("'{IMAGE_IDS}' must be a list of image ids, got {other}"),
        )),
    }
}

fn name_regex(args: &Props) -> Result<Option<Regex>, Failure> {
    values::get_str(args, NAME_REGEX)
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
impl Function for GetImages {
    fn spec(&self) -> &FunctionSpec {
        self.spec
    }

    fn validate(&self, args: &Props) -> Vec<Failure> {
        let mut failures = Vec::new();
        failures.extend(image_ids(args).err());
        failures.extend(name_regex(args).err());
        if let Some(status) = values::get_str(args, STATUS)
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

    async fn invoke(&self, ctx: &Ctx<'_>, args: &Props) -> Result<Props, ResourceError> {
        let invalid = |f: Failure| ResourceError::Failed(f.reason);
        let filter = EcdImageFilter {
            image_ids: image_ids(args).map_err(invalid)?,
            status: values::get_str(args, STATUS).map(str::to_string),
            // Only images made from desktops: the system images are not this provider's business.
            image_type: Some("CUSTOM".into()),
            ..Default::default()
        };
        let pattern = name_regex(args).map_err(invalid)?;
        let images: Vec<Value> = ctx
            .client
            .list_ecd_images(&ctx.call, &filter)
            .await?
            .into_iter()
            .filter(|i| {
                pattern
                    .as_ref()
                    .is_none_or(|p| p.is_match(i.name.as_deref().unwrap_or_default()))
            })
            .map(|i| {
                let mut m = Map::new();
                let text = |s: Option<String>| s.map_or(Value::Null, Value::String);
                m.insert("imageId".into(), Value::String(i.image_id));
                m.insert("imageName".into(), text(i.name));
                m.insert("description".into(), text(i.description));
                m.insert("status".into(), Value::String(i.status));
                m.insert("progress".into(), text(i.progress));
                Value::Object(m)
            })
            .collect();
        let mut out = Props::new();
        out.insert(IMAGES.into(), Value::Array(images));
        Ok(out)
    }
}
