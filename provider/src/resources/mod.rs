//! The resources this provider manages, one file each, behind one [`Resource`] trait.

mod ecd_image;
mod image_share_permission;

use std::time::Duration;

use async_trait::async_trait;

use crate::alicloud::{self, CallContext, Client, EcsShares};
use crate::check::Failure;
use crate::diff;
use crate::schema::{ResourceSpec, Schema};
use crate::values::{self, Props};

pub use ecd_image::EcdImage;
pub use image_share_permission::{ImageSharePermission, parse_id as parse_share_id};

/// Where a resource reports progress of long waits (shown by the engine while it runs).
pub trait Progress: Send + Sync {
    /// Reports one ephemeral progress message.
    fn report(&self, message: String);
}

/// What a resource operation gets to work with.
pub struct Ctx<'a> {
    /// The resource's URN.
    pub urn: &'a str,
    /// The Alibaba API client.
    pub client: &'a Client,
    /// Batched image sharing through the same client.
    pub shares: &'a EcsShares,
    /// Deadline and cancellation for this operation.
    pub call: CallContext,
    /// Progress reporting for this resource.
    pub progress: &'a dyn Progress,
}

/// A resource that was created.
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    /// The provider id.
    pub id: String,
    /// The output properties.
    pub outputs: Props,
}

/// A resource as found by Read.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// The provider id.
    pub id: String,
    /// The output properties.
    pub outputs: Props,
    /// The inputs that would produce this resource (for import and `.get`).
    pub inputs: Props,
    /// Why the resource, although it exists, is not in a usable state: kept as the engine's init errors, so
    /// that the next update finishes or replaces it.
    pub unhealthy: Option<Unhealthy>,
}

/// What Read found.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// The resource exists.
    Found(Observed),
    /// It does not exist; why, in words that name what was looked for and where (shown by `pulumi import`
    /// and `.get`, which have no state to drop).
    Missing(String),
}

/// A resource that exists but is not usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unhealthy {
    /// Not ready yet: the next update waits for it.
    Pending(String),
    /// It failed for good: the next update replaces it.
    Failed(String),
}

/// Default operation timeouts, used when the program sets no `customTimeouts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Create.
    pub create: Duration,
    /// Read (refresh, import, `.get`), which has no `customTimeouts`.
    pub read: Duration,
    /// Update.
    pub update: Duration,
    /// Delete.
    pub delete: Duration,
}

/// Why a resource operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    /// The id is not of this resource's form.
    #[error("{0}")]
    InvalidId(String),
    /// An Alibaba API call failed.
    #[error(transparent)]
    Api(#[from] alicloud::Error),
    /// Something was created but the operation did not complete; the id must be kept in state.
    #[error("{reason}")]
    Partial {
        /// The id of what exists.
        id: String,
        /// Its last known outputs.
        outputs: Props,
        /// Why the operation did not complete.
        reason: String,
    },
    /// The operation failed and left nothing behind.
    #[error("{0}")]
    Failed(String),
}

/// One resource type: its schema, its validation, and its CRUD against the Alibaba API.
#[async_trait]
pub trait Resource: Send + Sync {
    /// This resource's part of the schema.
    fn spec(&self) -> &ResourceSpec;

    /// This resource's exceptions to the generic Diff.
    fn diff_rules(&self) -> diff::Rules<'static> {
        diff::Rules::default()
    }

    /// The name property filled in by autonaming when the program leaves it out, if any.
    fn auto_name(&self) -> Option<crate::autoname::AutoName> {
        None
    }

    /// A replacement the old state or a change the API cannot make in place calls for, beyond the schema's
    /// replace-on-change inputs: the property to show as its cause.
    fn forced_replacement(&self, _olds: &Props, _news: &Props) -> Option<&'static str> {
        None
    }

    /// Whether a replacement must delete the old resource before it creates the new one.
    fn delete_before_replace(&self, _urn: &str, _olds: &Props, _news: &Props) -> bool {
        false
    }

    /// Default timeouts.
    fn timeouts(&self) -> Timeouts;

    /// Resource-specific checks of known input values (formats, lengths).
    fn validate(&self, news: &Props) -> Vec<Failure>;

    /// Creates the resource from checked inputs.
    async fn create(&self, ctx: &Ctx<'_>, inputs: &Props) -> Result<Created, ResourceError>;

    /// Reads the resource by id. `state` is the last known state (empty on import and `.get`).
    async fn read(&self, ctx: &Ctx<'_>, id: &str, state: &Props) -> Result<Lookup, ResourceError>;

    /// Applies in-place changes; returns the new outputs.
    async fn update(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        olds: &Props,
        news: &Props,
    ) -> Result<Props, ResourceError>;

    /// Deletes the resource; succeeds when it is already gone.
    async fn delete(&self, ctx: &Ctx<'_>, id: &str, state: &Props) -> Result<(), ResourceError>;
}

/// Every resource this provider knows, by token.
pub fn registry(schema: &'static Schema) -> Vec<Box<dyn Resource>> {
    let spec = |token: &str| {
        // Both tokens are in the embedded schema; the schema tests guard it.
        schema
            .resource(token)
            .unwrap_or_else(|| panic!("schema.json lacks {token}"))
    };
    vec![
        Box::new(ImageSharePermission::new(spec(ImageSharePermission::TOKEN))),
        Box::new(EcdImage::new(spec(EcdImage::TOKEN))),
    ]
}

impl Ctx<'_> {
    /// The resource's name in the program: the last part of its URN.
    pub fn logical_name(&self) -> &str {
        logical_name(self.urn)
    }
}

/// The last part of a URN (`urn:pulumi:<stack>::<project>::<type>::<name>`).
pub fn logical_name(urn: &str) -> &str {
    urn.rsplit("::").next().unwrap_or_default()
}

/// Everything Check rejects in `news`: the schema's rules, then the resource's own, with the text of every
/// secret input kept out of the messages (they are shown and logged).
pub fn check_inputs(resource: &dyn Resource, olds: &Props, news: &Props) -> Vec<Failure> {
    let mut failures = crate::check::check_schema(
        resource.spec(),
        resource.diff_rules().unobservable,
        olds,
        news,
    );
    failures.extend(resource.validate(news));
    let mut secrets = values::secret_texts(news);
    secrets.extend(values::secret_texts(olds));
    for failure in &mut failures {
        failure.reason = values::redact(&failure.reason, &secrets);
    }
    failures
}

/// How long a read that finds out what an interrupted or ambiguous change did may take. It runs after the
/// operation was cancelled or ran out of time, so the cancel does not stop it, and it is short.
pub const SETTLE_READ: Duration = Duration::from_secs(30);

/// Copies the named properties that are set in `from`.
pub(crate) fn pick(from: &Props, names: &[String]) -> Props {
    names
        .iter()
        .filter_map(|n| {
            from.get(n)
                .filter(|v| !v.is_null())
                .map(|v| (n.clone(), v.clone()))
        })
        .collect()
}
